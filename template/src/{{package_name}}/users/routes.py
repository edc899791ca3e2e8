"""Account routes: your own account, and the administrators' view of all accounts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.dependencies import (
    CurrentUser,
    PasswordsDep,
    SessionsDep,
    require_roles,
    require_scopes,
)
from ..auth.permissions import ADMIN
from ..auth.tokens import AccessClaims
from ..db import SessionDep
from .models import User
from .schemas import AccountUpdate, Me, PasswordChange, UserOut
from .service import list_users

router = APIRouter(tags=["users"])
admin_router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[require_roles(ADMIN), require_scopes("admin")],
)


async def get_account(session: AsyncSession, user_id: uuid.UUID) -> User:
    account = await session.get(User, user_id)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Account not found.")
    return account


@router.get("/users/me")
async def read_me(user: Annotated[AccessClaims, require_scopes("profile")]) -> Me:
    """Your account, as your access token describes it."""
    return Me(
        id=user.subject,
        email=user.email,
        roles=sorted(user.roles),
        scopes=sorted(user.scopes),
    )


@router.post(
    "/users/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scopes("profile")],
)
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    session: SessionDep,
    passwords: PasswordsDep,
    sessions: SessionsDep,
) -> Response:
    """Change your password. Needs the current one; every session ends, this one
    included, so log in again afterwards."""
    account = await get_account(session, uuid.UUID(user.subject))
    valid, _ = await passwords.verify_and_update(
        body.current_password, account.password_hash
    )
    if not valid:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "The current password is incorrect."
        )
    account.password_hash = await passwords.hash(body.new_password)
    await sessions.end_all_sessions(session, account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get("/users")
async def read_users(
    session: SessionDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[UserOut]:
    """Every account, oldest first (administrators only)."""
    users = await list_users(session, offset=offset, limit=limit)
    return [UserOut.model_validate(user) for user in users]


@admin_router.patch("/users/{user_id}")
async def update_user(
    user_id: uuid.UUID,
    body: AccountUpdate,
    session: SessionDep,
    sessions: SessionsDep,
) -> UserOut:
    """Change an account's roles or disable it; its existing tokens stop working."""
    account = await get_account(session, user_id)
    if body.roles is not None:
        account.roles = list(dict.fromkeys(body.roles))
    if body.is_active is not None:
        account.is_active = body.is_active
    await sessions.end_all_sessions(session, account)
    return UserOut.model_validate(account)


@admin_router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(
    user_id: uuid.UUID, session: SessionDep, sessions: SessionsDep
) -> Response:
    """Delete an account; its tokens stop working at once."""
    account = await get_account(session, user_id)
    await sessions.end_all_sessions(session, account)
    await session.delete(account)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.delete(
    "/users/{user_id}/sessions", status_code=status.HTTP_204_NO_CONTENT
)
async def end_sessions(
    user_id: uuid.UUID, session: SessionDep, sessions: SessionsDep
) -> Response:
    """Log an account out everywhere: every token issued so far stops working."""
    account = await get_account(session, user_id)
    await sessions.end_all_sessions(session, account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
