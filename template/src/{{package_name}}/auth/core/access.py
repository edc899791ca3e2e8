"""Ending an account's access: what a password, role or status change needs, and a
deletion. One call ends every credential of every method, on every process."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from ...users.models import User
from .revocation import RevocationList

# What a method that keeps state per login (refresh token families) adds to it.
EndSessions = Callable[[AsyncSession, User], Awaitable[None]]


class AccountAccess:
    """Ends the access of accounts, for every enabled method."""

    def __init__(
        self, revocations: RevocationList, end_sessions: EndSessions | None = None
    ) -> None:
        self.revocations = revocations
        self._end_sessions = end_sessions

    async def end(self, db: AsyncSession, account: User) -> None:
        """Commit the caller's change to `account`, then end every credential of it
        proved until now: tokens die, cached keys and passwords are checked again."""
        await db.commit()
        if self._end_sessions is not None:
            await self._end_sessions(db, account)
        await self.revocations.revoke_user(db, str(account.id))

    async def forget(self, db: AsyncSession, account_id: uuid.UUID) -> None:
        """End every credential of a deleted account, however recent."""
        await self.revocations.revoke_user(db, str(account_id), deleted=True)
