"""`current_user` and the guards built on it: `require_scopes`, `require_roles`,
`require_verified`.

The caller is whoever the first enabled credential scheme (`schemes.py`) finds,
checked once per request (how OpenAPI lists the schemes: `openapi.py`), with no
database read on the hot path (API keys and Basic credentials, once verified,
are kept in memory). Routes that need the account row load it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from ..config import Settings
from ..resources import resource
from .core.errors import InsufficientScope, MissingCredentials, MissingRole
from .core.principal import Principal
from .schemes import AUTHENTICATORS, CHALLENGE_OF_METHOD, SCHEMES


async def authenticate(request: Request) -> Principal:
    """The caller, by the first scheme whose credentials the request carries."""
    for authenticator in AUTHENTICATORS:
        principal = await authenticator(request)
        if principal is not None:
            return principal
    raise MissingCredentials("no credentials")


class _CurrentUser(SecurityBase):
    """The dependency `current_user`. To OpenAPI it is the first credential scheme
    (`openapi.py` lists the others where it is): FastAPI lists security schemes
    from the dependencies that are scheme objects, and solves each per request."""

    def __init__(self, listed_as: SecurityBase) -> None:
        self.model = listed_as.model
        self.scheme_name = listed_as.scheme_name

    async def __call__(
        self, request: Request, security_scopes: SecurityScopes
    ) -> Principal:
        """The authenticated caller, with the scopes the route asks for."""
        principal = await authenticate(request)
        missing = [s for s in security_scopes.scopes if s not in principal.scopes]
        if missing:
            challenge = CHALLENGE_OF_METHOD.get(principal.method)
            scheme = challenge.scheme if challenge else None
            raise InsufficientScope(security_scopes.scopes, scheme)
        return principal


current_user = _CurrentUser(SCHEMES[0])
CurrentUser = Annotated[Principal, Security(current_user)]


def require_scopes(*scopes: str) -> Any:
    """A dependency: the caller must hold every one of `scopes` (else 403)."""
    return Security(current_user, scopes=list(scopes))


def require_roles(*roles: str) -> Any:
    """A dependency: the caller must hold at least one of `roles` (else 403)."""
    accepted = frozenset(roles)

    async def check_roles(user: CurrentUser) -> Principal:
        if not user.roles & accepted:
            raise MissingRole(f"requires one of the roles {sorted(accepted)}")
        return user

    guard: Callable[..., Awaitable[Principal]] = check_roles
    return Depends(guard)


def require_verified() -> Any:
    """A dependency: the caller's email address must be verified (else 403), when
    EMAIL_VERIFICATION is on. A token says what the account was when it was issued:
    after verifying, refresh (or log in again) to get one that says so."""

    async def check_verified(request: Request, user: CurrentUser) -> Principal:
        if not user.email_verified and resource(request, Settings).email_verification:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "Verify your email address first."
            )
        return user

    guard: Callable[..., Awaitable[Principal]] = check_verified
    return Depends(guard)
