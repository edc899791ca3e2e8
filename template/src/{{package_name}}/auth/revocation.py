"""Revoked access tokens, checked on every request from memory.

Access tokens are stateless; what revokes them early is a row here: a token id
(`jti`, logout), a session (`sid`, a revoked refresh family) or a user (every token
issued before a moment: password, role or status change). Rows are written to the
database, so revocations survive a restart, and applied to this process at once.
Other processes sharing the database pick them up within REVOCATION_SYNC_SECONDS:
that is the staleness bound across replicas.

A row lives until every token it covers is dead to the verifier, leeway included:
forgotten at the token's `exp`, it would let the token back in for LEEWAY_SECONDS.

Other processes read new rows through a cursor over `id`, which must never pass a
row they have not seen:
- ids are never reused. SQLite reuses the ids of deleted top rows unless the table
  is AUTOINCREMENT; pruning expired rows would then hand out ids a running process
  has already passed, and it would never see those revocations.
- ids are not committed in order everywhere: PostgreSQL takes a sequence value at
  INSERT, so a transaction holding id 10 may commit after one holding id 11. Each
  sync therefore re-reads every row above the cursor of LATE_COMMIT_SECONDS ago;
  applying a revocation twice changes nothing.
- if no sync has succeeded for a while, the revocations in memory may be missing
  some: requests then fail closed (503) rather than let revoked tokens in.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

import anyio
from sqlalchemy import Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .errors import InvalidToken, RevocationsUnavailable
from .principal import Principal
from .tokens import LEEWAY_SECONDS, AccessClaims

logger = logging.getLogger(__name__)

Kind = Literal["jti", "sid", "user"]
# How late, after taking its id, a transaction may commit and still be seen.
LATE_COMMIT_SECONDS = 60.0


class Revocation(Base):
    __tablename__ = "revocations"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids never reused: see above

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(64))
    # For kind "user": tokens issued before this unix time are dead.
    not_before: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[int] = mapped_column(index=True)


class RevocationList:
    """The revocations in force, mirrored in memory; O(1) per request."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sync_seconds: float,
        *,
        leeway_seconds: int = LEEWAY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.sync_seconds = sync_seconds
        self.leeway_seconds = leeway_seconds
        # Past this age, the mirror may be missing revocations: fail closed.
        self.max_staleness = max(3 * sync_seconds, sync_seconds + 10)
        self._clock = clock
        self._jtis: dict[str, int] = {}
        self._sids: dict[str, int] = {}
        self._users: dict[str, tuple[int, int]] = {}
        self._cursor = 0
        # (when a sync ran, the highest id it read): the cursor follows them late.
        self._reads: deque[tuple[float, int]] = deque()
        self._synced_at: float | None = None

    def is_revoked(self, claims: AccessClaims) -> bool:
        """Whether the token is revoked; raises RevocationsUnavailable when stale."""
        synced_at = self._synced_at
        if synced_at is None or self._clock() - synced_at > self.max_staleness:
            raise RevocationsUnavailable("revocations not synced recently")
        if claims.token_id in self._jtis or claims.session_id in self._sids:
            return True
        user = self._users.get(claims.subject)
        return user is not None and claims.issued_at < user[0]

    def admit(self, claims: AccessClaims, method: str) -> Principal:
        """The caller `claims` speak for, by `method`; InvalidToken if revoked."""
        if self.is_revoked(claims):
            raise InvalidToken("revoked")
        return claims.principal(method)

    async def revoke(
        self,
        session: AsyncSession,
        kind: Kind,
        value: str,
        *,
        covers_until: int,
        not_before: int = 0,
    ) -> None:
        """Record a revocation of tokens expiring by `covers_until` (commits); apply
        it here at once."""
        row = Revocation(
            kind=kind,
            value=value,
            not_before=not_before,
            expires_at=covers_until + self.leeway_seconds,
        )
        session.add(row)
        await session.commit()
        self._apply(row)

    async def sync(self) -> None:
        """Load revocations recorded since the last sync (by any process)."""
        highest = self._cursor
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(Revocation)
                .where(Revocation.id > self._cursor)
                .order_by(Revocation.id)
            )
            for row in rows:
                self._apply(row)
                highest = max(highest, row.id)
        now = self._clock()
        self._reads.append((now, highest))
        while self._reads and self._reads[0][0] <= now - LATE_COMMIT_SECONDS:
            self._cursor = max(self._cursor, self._reads.popleft()[1])
        self._synced_at = now
        self._forget_expired(int(time.time()))

    async def prune(self) -> None:
        """Delete rows whose tokens are all dead, leeway included."""
        async with self._sessionmaker() as session:
            await session.execute(
                delete(Revocation).where(Revocation.expires_at < int(time.time()))
            )
            await session.commit()

    async def run(self) -> None:
        """Sync forever, every `sync_seconds` (run it in the app's lifespan)."""
        while True:
            await anyio.sleep(self.sync_seconds)
            try:
                await self.sync()
            except Exception:  # a database hiccup must not stop the syncing
                logger.exception("revocation sync failed")

    def _apply(self, row: Revocation) -> None:
        if row.kind == "jti":
            self._jtis[row.value] = max(self._jtis.get(row.value, 0), row.expires_at)
        elif row.kind == "sid":
            self._sids[row.value] = max(self._sids.get(row.value, 0), row.expires_at)
        else:
            previous = self._users.get(row.value, (0, 0))
            self._users[row.value] = (
                max(previous[0], row.not_before),
                max(previous[1], row.expires_at),
            )

    def _forget_expired(self, now: int) -> None:
        for table in (self._jtis, self._sids):
            for key in [k for k, expires_at in table.items() if expires_at < now]:
                del table[key]
        for key in [k for k, (_, exp) in self._users.items() if exp < now]:
            del self._users[key]
