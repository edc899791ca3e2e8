"""Revoked access tokens, checked on every request from memory.

Access tokens are stateless; what revokes them early is a row here: a token id
(`jti`, logout), a session (`sid`, a revoked refresh family) or a user (every token
issued before a moment: password, role or status change). Rows are written to the
database, so revocations survive a restart, and applied to this process at once.
Other processes sharing the database pick them up within REVOCATION_SYNC_SECONDS:
that is the staleness bound across replicas. A row is forgotten once every token it
could concern has expired.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

import anyio
from sqlalchemy import Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .tokens import AccessClaims

logger = logging.getLogger(__name__)

Kind = Literal["jti", "sid", "user"]


class Revocation(Base):
    __tablename__ = "revocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(64))
    # For kind "user": tokens issued before this unix time are dead.
    not_before: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[int] = mapped_column(index=True)


class RevocationList:
    """The revocations in force, mirrored in memory; O(1) per request."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], sync_seconds: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self.sync_seconds = sync_seconds
        self._jtis: dict[str, int] = {}
        self._sids: dict[str, int] = {}
        self._users: dict[str, tuple[int, int]] = {}
        self._last_id = 0

    def is_revoked(self, claims: AccessClaims) -> bool:
        if claims.token_id in self._jtis or claims.session_id in self._sids:
            return True
        user = self._users.get(claims.subject)
        return user is not None and claims.issued_at < user[0]

    async def revoke(
        self,
        session: AsyncSession,
        kind: Kind,
        value: str,
        *,
        expires_at: int,
        not_before: int = 0,
    ) -> None:
        """Record a revocation (commits) and apply it here at once."""
        row = Revocation(
            kind=kind, value=value, not_before=not_before, expires_at=expires_at
        )
        session.add(row)
        await session.commit()
        self._apply(row)

    async def sync(self) -> None:
        """Load revocations recorded since the last sync (by any process)."""
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(Revocation)
                .where(Revocation.id > self._last_id)
                .order_by(Revocation.id)
            )
            for row in rows:
                self._apply(row)
                self._last_id = max(self._last_id, row.id)
        self._forget_expired(int(time.time()))

    async def prune(self) -> None:
        """Delete rows whose tokens have all expired."""
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
            self._jtis[row.value] = row.expires_at
        elif row.kind == "sid":
            self._sids[row.value] = row.expires_at
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
