"""The dependencies routes use: the caller and the app's resources.

`CurrentUser`, `require_scopes` and `require_roles` live in `auth.current`; they
are importable from here too, where routes of earlier releases import them.
"""

from __future__ import annotations

from typing import Annotated, Any

from ..resources import provide
from .current import (
    CurrentSession,
    CurrentUser,
    current_user,
    require_roles,
    require_scopes,
)
from .grants import Credentials
from .passwords import PasswordService
from .sessions import SessionManager
from .tokens import TokenHandler

__all__ = [
    "AUTH_RESPONSES",
    "CredentialsDep",
    "CurrentSession",
    "CurrentUser",
    "PasswordsDep",
    "SessionsDep",
    "TokensDep",
    "current_user",
    "require_roles",
    "require_scopes",
]

# What every protected route may answer besides its own responses (OpenAPI).
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed credentials (RFC 6750 invalid_request)"},
    401: {"description": "Missing, invalid, expired or revoked credentials"},
    403: {"description": "A scope or role the route needs is missing"},
    503: {"description": "Revocations could not be checked; retry shortly"},
}


PasswordsDep = Annotated[PasswordService, provide(PasswordService)]
TokensDep = Annotated[TokenHandler, provide(TokenHandler)]
SessionsDep = Annotated[SessionManager, provide(SessionManager)]
CredentialsDep = Annotated[Credentials, provide(Credentials)]
