"""Account routes: the caller's own account, and the administrators' list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..auth.dependencies import CurrentUser, require_roles, require_scopes
from ..auth.permissions import ADMIN
from ..db import SessionDep
from .schemas import Me, UserOut
from .service import list_users

router = APIRouter(tags=["users"])
admin_router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[require_roles(ADMIN), require_scopes("admin")],
)


@router.get("/users/me", dependencies=[require_scopes("profile")])
async def read_me(user: CurrentUser) -> Me:
    """Your account, as your access token describes it."""
    return Me(
        id=user.subject,
        email=user.email,
        roles=sorted(user.roles),
        scopes=sorted(user.scopes),
    )


@admin_router.get("/users")
async def read_users(
    session: SessionDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[UserOut]:
    """Every account, oldest first (administrators only)."""
    users = await list_users(session, offset=offset, limit=limit)
    return [UserOut.model_validate(user) for user in users]
