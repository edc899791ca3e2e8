"""Account operations, independent of HTTP: create, find, list, change, delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, String, cast, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from .models import ADMIN, USER, User, utcnow


class EmailTaken(Exception):
    """Raised when an account with the email already exists."""


class LastAdmin(Exception):
    """Raised when a change would leave no active administrator."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password_hash: str | None,
    admin: bool = False,
    verified: bool = False,
) -> User:
    """Create an account (without a password: None); raises EmailTaken if the email
    is in use. `verified`: whoever makes it vouches for the address."""
    user = User(
        email=normalize_email(email),
        password_hash=password_hash,
        roles=[USER, ADMIN] if admin else [USER],
        is_active=True,
        email_verified_at=utcnow() if verified else None,
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


def _is_active_admin(table: type[User]) -> ColumnElement[bool]:
    # `roles` is a JSON list of known role names: its text holds '"admin"' exactly
    # when the account is an administrator, on SQLite and PostgreSQL alike.
    return table.is_active.is_(True) & cast(table.roles, String).like(f'%"{ADMIN}"%')


def _keeps_an_admin(user_id: uuid.UUID) -> ColumnElement[bool]:
    """True unless the account is the last active administrator."""
    other = aliased(User)
    others = (
        select(func.count())
        .select_from(other)
        .where(other.id != user_id, _is_active_admin(other))
        .scalar_subquery()
    )
    return or_(~_is_active_admin(User), others > 0)


async def _lock_admins(session: AsyncSession, user_id: uuid.UUID) -> None:
    # SQLite runs one writer at a time, so the guarded statement below is atomic
    # there. PostgreSQL runs concurrent UPDATEs of two rows side by side: lock the
    # administrators' rows and the changed one first, so that two admins demoting
    # each other wait; in one order, or each could hold a row the other waits for.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(User.id)
            .where(or_(_is_active_admin(User), User.id == user_id))
            .order_by(User.id)
            .with_for_update()
        )


async def change_account(
    session: AsyncSession,
    account: User,
    *,
    roles: list[str] | None = None,
    is_active: bool | None = None,
) -> None:
    """Change roles or status in one guarded statement (commits); raises LastAdmin
    instead of leaving nobody able to administer."""
    user_id = account.id
    new_roles = list(dict.fromkeys(roles)) if roles is not None else account.roles
    new_active = account.is_active if is_active is None else is_active
    statement = update(User).where(User.id == user_id)
    if not (ADMIN in new_roles and new_active):
        await _lock_admins(session, user_id)
        statement = statement.where(_keeps_an_admin(user_id))
    changed = await session.execute(
        statement.values(roles=new_roles, is_active=new_active).returning(User.id)
    )
    if changed.one_or_none() is None:
        await session.rollback()
        raise LastAdmin(str(user_id))
    await session.commit()
    await session.refresh(account)


async def delete_account(session: AsyncSession, account: User) -> None:
    """Delete the account (commits); raises LastAdmin for the last administrator."""
    user_id = account.id
    await _lock_admins(session, user_id)
    deleted = await session.execute(
        delete(User)
        .where(User.id == user_id, _keeps_an_admin(user_id))
        .returning(User.id)
    )
    if deleted.one_or_none() is None:
        await session.rollback()
        raise LastAdmin(str(user_id))
    await session.commit()
