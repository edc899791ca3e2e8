"""`current_user` and the guards built on it: `require_scopes`, `require_roles`.

The caller is whoever the first enabled credential scheme (`schemes.py`) finds:
no database read on the hot path (API keys and Basic credentials, once verified,
are kept in memory). Routes that need the account row load it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

from fastapi import Depends, Request, Security
from fastapi.security import SecurityScopes

from .errors import InsufficientScope, MissingCredentials, MissingRole
from .principal import Principal
from .schemes import AUTHENTICATORS, CHALLENGE_OF_METHOD, SCHEMES


async def authenticate(request: Request) -> Principal:
    """The caller, by the first scheme whose credentials the request carries."""
    for authenticator in AUTHENTICATORS:
        principal = await authenticator(request)
        if principal is not None:
            return principal
    raise MissingCredentials("no credentials")


async def current_user(
    request: Request, security_scopes: SecurityScopes, **_listed: object
) -> Principal:
    """The authenticated caller, with the scopes the route asks for."""
    principal = await authenticate(request)
    missing = [s for s in security_scopes.scopes if s not in principal.scopes]
    if missing:
        challenge = CHALLENGE_OF_METHOD.get(principal.method)
        scheme = challenge.scheme if challenge else None
        raise InsufficientScope(security_scopes.scopes, scheme)
    return principal


# FastAPI reads a dependency's parameters from its signature: one per scheme object,
# so that OpenAPI lists each for every route that needs a caller. The schemes only
# read headers; the credentials are checked once, by `authenticate`.
_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
current_user.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("request", _POSITIONAL, annotation=Request),
        inspect.Parameter("security_scopes", _POSITIONAL, annotation=SecurityScopes),
        *(
            inspect.Parameter(
                f"_listed_{index}",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[Any, Depends(cast("Callable[..., Any]", scheme))],
            )
            for index, scheme in enumerate(SCHEMES)
        ),
    ]
)
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
