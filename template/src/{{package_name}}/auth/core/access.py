"""Ending an account's access: what a password, role or status change needs, and a
deletion. One call ends every credential of every method, on every process."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from ...users.models import User
from .principal import Principal
from .revocation import RevocationList

# What a method that keeps state per login (refresh token families) adds to it:
# ending them, and when the caller's session began (its login).
EndSessions = Callable[[AsyncSession, User], Awaitable[None]]
SignedInAt = Callable[[AsyncSession, Principal], Awaitable[int | None]]


class AccountAccess:
    """Ends the access of accounts, for every enabled method."""

    def __init__(
        self,
        revocations: RevocationList,
        end_sessions: EndSessions | None = None,
        signed_in_at: SignedInAt | None = None,
    ) -> None:
        self.revocations = revocations
        self._end_sessions = end_sessions
        self._signed_in_at = signed_in_at

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

    async def signed_in_at(self, db: AsyncSession, caller: Principal) -> int | None:
        """When the caller's session began (Unix time): None where no login session
        authenticated the request (an API key, Basic credentials)."""
        if self._signed_in_at is None or caller.session_id is None:
            return None
        return await self._signed_in_at(db, caller)
