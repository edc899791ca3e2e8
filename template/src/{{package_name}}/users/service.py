"""Account operations, independent of HTTP: create, find, list."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.passwords import PasswordService
from ..auth.permissions import ADMIN, USER
from .models import User


class EmailTaken(Exception):
    """Raised when an account with the email already exists."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    passwords: PasswordService,
    *,
    email: str,
    password: str,
    admin: bool = False,
) -> User:
    """Create an account; raises EmailTaken if the email is in use."""
    user = User(
        email=normalize_email(email),
        password_hash=await passwords.hash(password),
        roles=[USER, ADMIN] if admin else [USER],
        is_active=True,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise EmailTaken(email) from None
    return user


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(
        select(User).where(User.email == normalize_email(email))
    )
    return result.scalar_one_or_none()


async def list_users(
    session: AsyncSession, *, offset: int = 0, limit: int = 50
) -> Sequence[User]:
    result = await session.execute(
        select(User).order_by(User.created_at, User.id).offset(offset).limit(limit)
    )
    return result.scalars().all()
