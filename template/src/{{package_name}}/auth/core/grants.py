"""The one check of a password, shared by both logins and by re-authentication.

Unknown account, wrong password and disabled account take the same time and give
the same answer, so a login never tells whether an account exists. Every check is
counted by the brute-force limits, whichever route asked for it.
"""

from __future__ import annotations

import logging

import anyio
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ...users.models import User
from ...users.service import get_user_by_email
from .attempts import Limiter
from .passwords import PasswordService

audit = logging.getLogger(__name__.partition(".")[0] + ".audit")


class Credentials:
    """Checks passwords within the brute-force limits."""

    def __init__(self, passwords: PasswordService, limiter: Limiter) -> None:
        self.passwords = passwords
        self.limiter = limiter

    async def login(
        self, db: AsyncSession, request: Request, email: str, password: str
    ) -> User | None:
        """The active account with this email and password, or None (same cost
        either way). Raises TooManyAttempts when the limits say so."""
        attempt = await self.limiter.begin(request, email)
        user: User | None = None
        checked = False
        try:
            user = await self._authenticate(db, email, password)
            checked = True
        finally:
            with anyio.CancelScope(shield=True):  # a cancelled check still ends
                outcome = (user is not None) if checked else None
                await self.limiter.finish(attempt, succeeded=outcome)
        return user

    async def reauthenticate(
        self, request: Request, account: User, password: str
    ) -> bool:
        """Whether `password` is the account's (a password change, for instance);
        counted like a login, so a stolen token cannot guess it."""
        attempt = await self.limiter.begin(request, account.email)
        valid: bool | None = None
        try:
            valid, _ = await self.passwords.verify_and_update(
                password, account.password_hash
            )
        finally:
            with anyio.CancelScope(shield=True):
                await self.limiter.finish(attempt, succeeded=valid)
        if not valid:
            audit.info("reauthentication.failed", extra={"user_id": str(account.id)})
        return bool(valid)

    async def _authenticate(
        self, db: AsyncSession, email: str, password: str
    ) -> User | None:
        user = await get_user_by_email(db, email)
        if user is None:
            await self.passwords.verify_dummy(password)
            audit.info("login.failed", extra={"reason": "unknown_account"})
            return None
        valid, new_hash = await self.passwords.verify_and_update(
            password, user.password_hash
        )
        if not valid or not user.is_active:
            audit.info(
                "login.failed",
                extra={"user_id": str(user.id), "reason": "password_or_disabled"},
            )
            return None
        if new_hash is not None:
            user.password_hash = new_hash
            await db.commit()
        audit.info("login.succeeded", extra={"user_id": str(user.id)})
        return user
