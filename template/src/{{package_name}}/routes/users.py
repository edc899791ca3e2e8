"""Account routes: your own account, and the administrators' view of all accounts."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.core.password_policy import password_problem
from ..auth.core.permissions import ADMIN
from ..auth.core.principal import Principal
from ..auth.dependencies import (
    AUTH_RESPONSES,
    AccessDep,
    CredentialsDep,
    CurrentUser,
    require_roles,
    require_scopes,
)
from ..db import SessionDep
from ..users.models import User
from ..users.service import (
    LastAdmin,
    Status,
    change_account,
    delete_account,
    list_users,
)
from . import cursors
from .schemas import (
    AccountDeletion,
    AccountUpdate,
    Me,
    PasswordChange,
    RoleName,
    UserOut,
    UserPage,
)

BAD_CURSOR = "Invalid cursor: pass the next_cursor of a previous page, unchanged."
# No control characters: PostgreSQL refuses a NUL in a string (a 500), and no
# email holds one.
EMAIL_PART = r"^[^\x00-\x1f\x7f]*$"
# How recent a login must be to delete an account without a password.
FRESH_LOGIN_SECONDS = 300
LAST_ADMIN = "This is the last administrator; make another one first."

audit = logging.getLogger(__name__.partition(".")[0] + ".audit")
router = APIRouter(tags=["users"], responses=AUTH_RESPONSES)
admin_router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses=AUTH_RESPONSES,
    dependencies=[require_roles(ADMIN), require_scopes("admin")],
)


async def get_account(session: AsyncSession, user_id: uuid.UUID) -> User:
    account = await session.get(User, user_id)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Account not found.")
    return account


@router.get("/users/me")
async def read_me(user: Annotated[Principal, require_scopes("profile")]) -> Me:
    """Your account, as your credentials describe it."""
    return Me(
        id=user.subject,
        email=user.email,
        email_verified=user.email_verified,
        roles=sorted(user.roles),
        scopes=sorted(user.scopes),
    )


@router.post(
    "/users/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scopes("profile")],
    responses={
        400: {"description": "The current password is incorrect"},
        429: {"description": "Too many wrong passwords; see Retry-After"},
    },
)
async def change_password(
    body: PasswordChange,
    request: Request,
    user: CurrentUser,
    db: SessionDep,
    credentials: CredentialsDep,
    access: AccessDep,
) -> Response:
    """Change your password. Needs the current one (wrong guesses count like failed
    logins); every session ends, this one included, so log in again afterwards."""
    account = await get_account(db, user.account_id)
    if not await credentials.reauthenticate(request, account, body.current_password):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "The current password is incorrect."
        )
    problem = password_problem(body.new_password, account.email)
    if problem:
        raise RequestValidationError(
            [{"loc": ("body", "new_password"), "msg": problem, "type": "value_error"}]
        )
    account.password_hash = await credentials.passwords.hash(body.new_password)
    await access.end(db, account)
    audit.info("password.changed", extra={"user_id": str(account.id)})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/users/me",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scopes("profile")],
    responses={
        400: {"description": "The current password is incorrect"},
        409: {"description": "It is the last administrator"},
        429: {"description": "Too many wrong passwords; see Retry-After"},
    },
)
async def delete_me(
    request: Request,
    user: CurrentUser,
    db: SessionDep,
    credentials: CredentialsDep,
    access: AccessDep,
    body: AccountDeletion | None = None,
) -> Response:
    """Delete your account and everything of it: every token, key and session
    stops working at once. Needs the current password; an account without one
    (social login only) needs a login of the last 5 minutes instead."""
    account = await get_account(db, user.account_id)
    if account.password_hash is not None:
        password = body.current_password if body else None
        if password is None or not await credentials.reauthenticate(
            request, account, password
        ):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, "The current password is incorrect."
            )
    else:
        signed_in_at = await access.signed_in_at(db, user)
        if signed_in_at is None or time.time() - signed_in_at > FRESH_LOGIN_SECONDS:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "Log in again, then delete the account within 5 minutes.",
            )
    try:
        await delete_account(db, account)
    except LastAdmin:
        raise HTTPException(status.HTTP_409_CONFLICT, LAST_ADMIN) from None
    await access.forget(db, user.account_id)
    audit.info("account.deleted", extra={"user_id": user.subject, "by": "owner"})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get("/users")
async def read_users(
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Accounts per page.")] = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=cursors.MAX_LENGTH,
            description="`next_cursor` of the previous page; omit for the first.",
        ),
    ] = None,
    email: Annotated[
        str | None,
        Query(
            max_length=320,
            pattern=EMAIL_PART,
            description="Part of the email, any case; `%` and `_` match themselves.",
        ),
    ] = None,
    role: Annotated[RoleName | None, Query(description="Only this role.")] = None,
    status: Annotated[
        Status | None, Query(description="Enabled (`active`) or `disabled` accounts.")
    ] = None,
) -> UserPage:
    """Accounts, oldest first (administrators only), a page at a time: follow
    `next_cursor` until it is null. Accounts created meanwhile appear at the end;
    none is listed twice or skipped. A cursor not from a previous page is a 422."""
    try:
        after = cursors.decode(cursor) if cursor is not None else None
    except cursors.InvalidCursor:
        raise RequestValidationError(
            [{"loc": ("query", "cursor"), "msg": BAD_CURSOR, "type": "value_error"}]
        ) from None
    page = await list_users(
        db, after=after, limit=limit, email=email, role=role, status=status
    )
    return UserPage(
        items=[UserOut.model_validate(user) for user in page.users],
        next_cursor=cursors.encode(page.next) if page.next is not None else None,
    )


@admin_router.patch(
    "/users/{user_id}",
    responses={
        404: {"description": "No such account"},
        409: {"description": "It is the last administrator"},
    },
)
async def update_user(
    user_id: uuid.UUID,
    body: AccountUpdate,
    db: SessionDep,
    access: AccessDep,
) -> UserOut:
    """Change an account's roles or disable it; its existing tokens stop working.
    The last active administrator can be neither demoted nor disabled (409)."""
    account = await get_account(db, user_id)
    try:
        await change_account(
            db,
            account,
            roles=list(body.roles) if body.roles is not None else None,
            is_active=body.is_active,
        )
    except LastAdmin:
        raise HTTPException(status.HTTP_409_CONFLICT, LAST_ADMIN) from None
    await access.end(db, account)
    audit.info(
        "account.changed",
        extra={
            "user_id": str(account.id),
            "roles": sorted(account.roles),
            "is_active": account.is_active,
        },
    )
    return UserOut.model_validate(account)


@admin_router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: {"description": "No such account"},
        409: {"description": "It is the last administrator"},
    },
)
async def delete_user(
    user_id: uuid.UUID, db: SessionDep, access: AccessDep
) -> Response:
    """Delete an account; its tokens stop working at once. The last active
    administrator cannot be deleted (409)."""
    account = await get_account(db, user_id)
    try:
        await delete_account(db, account)
    except LastAdmin:
        raise HTTPException(status.HTTP_409_CONFLICT, LAST_ADMIN) from None
    await access.forget(db, user_id)
    audit.info("account.deleted", extra={"user_id": str(user_id)})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.delete(
    "/users/{user_id}/sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "No such account"}},
)
async def end_sessions(
    user_id: uuid.UUID, db: SessionDep, access: AccessDep
) -> Response:
    """Log an account out everywhere: every token issued so far stops working."""
    account = await get_account(db, user_id)
    await access.end(db, account)
    audit.info("sessions.ended", extra={"user_id": str(user_id)})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
