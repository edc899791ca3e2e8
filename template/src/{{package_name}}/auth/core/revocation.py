"""Revoked access tokens, checked on every request from memory.

Every method checks credentials here without reading the database: access tokens
are stateless, and API keys and Basic credentials, once verified, are kept in memory
for up to CACHE_SECONDS. What ends them early is a row here: a token id (`jti`,
logout), a session (`sid`, a revoked refresh family), an API key (`key`) or a user
(every credential proved before a moment: password, role or status change, deletion;
tokens die, cached keys and passwords are checked against the database again). Rows
are written to the database, so revocations survive a restart, and applied to this
process at once. Other processes sharing the database pick them up within
REVOCATION_SYNC_SECONDS: that is the staleness bound across replicas, for every
method.

A row lives until every credential it covers is dead to the verifier, leeway
included: forgotten at a token's `exp`, it would let the token back in for the
verifier's leeway; forgotten before a cached credential is read again, it would
leave that cache stale.

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

from ...db import Base, is_unavailable
from .errors import RevocationsUnavailable

logger = logging.getLogger(__name__)

Kind = Literal["jti", "sid", "key", "user"]
# How late, after taking its id, a transaction may commit and still be seen.
LATE_COMMIT_SECONDS = 60.0
# The longest a method keeps a verified credential (API key, Basic) in memory before
# it reads the database again.
CACHE_SECONDS = 60


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
        token_lifetime_seconds: int = 0,
        leeway_seconds: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.sync_seconds = sync_seconds
        # The tokens' verifier accepts them this long past `exp`.
        self.leeway_seconds = leeway_seconds
        # A user revocation must outlive every credential proved before it.
        self.user_cover_seconds = max(token_lifetime_seconds, CACHE_SECONDS)
        # Past this age, the mirror may be missing revocations: fail closed.
        self.max_staleness = max(3 * sync_seconds, sync_seconds + 10)
        self._clock = clock
        # Revoked token, session and key ids (random, so one table): when to forget.
        self._ids: dict[str, int] = {}
        self._users: dict[str, tuple[int, int]] = {}
        self._cursor = 0
        # (when a sync ran, the highest id it read): the cursor follows them late.
        self._reads: deque[tuple[float, int]] = deque()
        self._synced_at: float | None = None

    @property
    def is_fresh(self) -> bool:
        """Whether the mirror was synced within `max_staleness` (else requests that
        need it are refused with 503)."""
        synced_at = self._synced_at
        return synced_at is not None and self._clock() - synced_at <= self.max_staleness

    def is_revoked(self, subject: str, proved_at: int, *ids: str) -> bool:
        """Whether a credential of `subject` proved at `proved_at` (a token's `iat`,
        a cache entry's load time), or known by one of `ids`, is revoked.

        Raises RevocationsUnavailable when the mirror is stale.
        """
        synced_at = self._synced_at
        if synced_at is None or self._clock() - synced_at > self.max_staleness:
            raise RevocationsUnavailable("revocations not synced recently")
        revoked = self._ids
        for value in ids:
            if value in revoked:
                return True
        user = self._users.get(subject)
        return user is not None and proved_at < user[0]

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

    async def revoke_user(
        self, session: AsyncSession, user_id: str, *, deleted: bool = False
    ) -> None:
        """End every credential of the account proved until now (commits): its tokens
        die, its cached keys and passwords are checked again."""
        now = int(time.time())
        await self.revoke(
            session,
            "user",
            user_id,
            # A deleted account's credentials of this very second die too.
            not_before=now + 1 if deleted else now,
            covers_until=now + self.user_cover_seconds,
        )

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
            except Exception as exc:  # a database hiccup must not stop the syncing
                if not is_unavailable(exc):
                    logger.exception("revocation sync failed")
                else:  # expected while the database is down: one line each time
                    logger.warning(
                        "revocation sync failed: the database is unavailable (%s)",
                        type(exc).__name__,
                    )

    def _apply(self, row: Revocation) -> None:
        if row.kind != "user":
            self._ids[row.value] = max(self._ids.get(row.value, 0), row.expires_at)
        else:
            previous = self._users.get(row.value, (0, 0))
            self._users[row.value] = (
                max(previous[0], row.not_before),
                max(previous[1], row.expires_at),
            )

    def _forget_expired(self, now: int) -> None:
        for key in [k for k, expires_at in self._ids.items() if expires_at < now]:
            del self._ids[key]
        for key in [k for k, (_, exp) in self._users.items() if exp < now]:
            del self._users[key]
