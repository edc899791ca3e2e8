"""Account operations, independent of HTTP: create, find, list, change, delete."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
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


# The listing's `status` filter: a name, and the `is_active` it stands for.
Status = Literal["active", "disabled"]
STATUSES: dict[str, bool] = {"active": True, "disabled": False}


@dataclass(frozen=True)
class Position:
    """Where a page of the listing ends: the last account's sort key."""

    created_at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class Page:
    """Accounts in listing order, and where the next page starts (None: the last)."""

    users: Sequence[User]
    next: Position | None


async def list_users(
    session: AsyncSession,
    *,
    after: Position | None = None,
    limit: int = 50,
    email: str | None = None,
    role: str | None = None,
    status: str | None = None,
) -> Page:
    """Accounts oldest first, from `after` on; filtered by a case-insensitive part of
    the email (`%` and `_` match themselves), a role and a status (STATUSES)."""
    # Keyset pagination: each page starts after the sort key (created_at, id) of the
    # previous one, so accounts created or deleted meanwhile move no other account
    # to another page, and a deep page costs what the first one does.
    statement = select(User).order_by(User.created_at, User.id).limit(limit + 1)
    if after is not None:
        statement = statement.where(
            or_(
                User.created_at > after.created_at,
                and_(User.created_at == after.created_at, User.id > after.id),
            )
        )
    if email is not None:
        # Lowered here too: SQLite's lower() leaves non-ASCII letters alone, and the
        # stored emails were lowered by Python.
        part = email.lower()
        statement = statement.where(User.email.icontains(part, autoescape=True))
    if role is not None:
        statement = statement.where(_has_role(User, role))
    if status is not None:
        statement = statement.where(User.is_active.is_(STATUSES[status]))
    users = (await session.execute(statement)).scalars().all()
    if len(users) <= limit:
        return Page(users, None)
    last = users[limit - 1]
    return Page(users[:limit], Position(last.created_at, last.id))


def _has_role(table: type[User], role: str) -> ColumnElement[bool]:
    # `roles` is a JSON list of role names: its text holds the role as a JSON string
    # exactly when the account has it, on SQLite and PostgreSQL alike.
    return cast(table.roles, String).contains(json.dumps(role), autoescape=True)


def _is_active_admin(table: type[User]) -> ColumnElement[bool]:
    return table.is_active.is_(True) & _has_role(table, ADMIN)


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
