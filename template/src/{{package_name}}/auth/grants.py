"""Password logins shared by the login routes: check the credentials.

Unknown account, wrong password and disabled account take the same time and give
the same answer, so a login never tells whether an account exists.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from ..users.models import User
from ..users.service import get_user_by_email
from .passwords import PasswordService

audit = logging.getLogger(__name__.rsplit(".", 2)[0] + ".audit")


async def authenticate(
    session: AsyncSession, passwords: PasswordService, email: str, password: str
) -> User | None:
    """The active account with this email and password, or None (same cost either way).

    A hash made with older Argon2 parameters is replaced on a successful login.
    """
    user = await get_user_by_email(session, email)
    if user is None:
        await passwords.verify_dummy(password)
        audit.info("login.failed", extra={"reason": "unknown_account"})
        return None
    valid, new_hash = await passwords.verify_and_update(password, user.password_hash)
    if not valid or not user.is_active:
        audit.info(
            "login.failed",
            extra={"user_id": str(user.id), "reason": "password_or_disabled"},
        )
        return None
    if new_hash is not None:
        user.password_hash = new_hash
        await session.commit()
    audit.info("login.succeeded", extra={"user_id": str(user.id)})
    return user
