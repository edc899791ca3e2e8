"""Refreshing and ending sessions."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ..db import SessionDep
from .dependencies import CurrentSession, SessionsDep
from .sessions import TokenPair
from .tokens import MAX_TOKEN_LENGTH

router = APIRouter(prefix="/auth", tags=["auth"])


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # As long as an access token may be, so that one sent here by mistake is an
    # invalid_grant rather than a malformed request.
    refresh_token: str = Field(max_length=MAX_TOKEN_LENGTH, repr=False)
    scope: str | None = Field(default=None, max_length=1024)


@router.post(
    "/refresh",
    responses={400: {"description": "RFC 6749 §5.2 error: invalid_grant, ..."}},
)
async def refresh(
    body: RefreshRequest, response: Response, session: SessionDep, sessions: SessionsDep
) -> TokenPair:
    """Exchange a refresh token for a new token pair. The refresh token is spent:
    presenting it again revokes the whole session."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return await sessions.refresh(session, body.refresh_token, body.scope)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    claims: CurrentSession, session: SessionDep, sessions: SessionsDep
) -> Response:
    """End this session: the access token and its refresh tokens stop working.
    Logging out twice is fine."""
    await sessions.logout(session, claims)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
