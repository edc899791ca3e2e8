"""`current_user` and the guards built on it: `require_scopes`, `require_roles`.

The caller is whoever the first enabled credential scheme (`schemes.py`) finds:
no database read on the hot path. Routes that need the account row load it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Security
from fastapi.security import SecurityScopes

from .errors import InsufficientScope, MissingCredentials, MissingRole
from .principal import Principal
from .schemes import CHALLENGE_OF_METHOD, PRINCIPALS

T = TypeVar("T")


def first_found(
    sources: Sequence[Callable[..., Awaitable[T | None]]],
) -> Callable[..., Awaitable[T]]:
    """A dependency: the first of `sources` that finds something (else 401)."""

    async def first(**found: T | None) -> T:
        for value in found.values():  # in the order of `sources`
            if value is not None:
                return value
        raise MissingCredentials("no credentials")

    # FastAPI reads a dependency's parameters from its signature: one per source.
    first.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                f"source_{index}",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[Any, Depends(source)],
            )
            for index, source in enumerate(sources)
        ]
    )
    return first


_authenticated = first_found(PRINCIPALS)


async def current_user(
    security_scopes: SecurityScopes,
    principal: Annotated[Principal, Depends(_authenticated)],
) -> Principal:
    """The authenticated caller, with the scopes the route asks for."""
    missing = [s for s in security_scopes.scopes if s not in principal.scopes]
    if missing:
        challenge = CHALLENGE_OF_METHOD.get(principal.method)
        scheme = challenge.scheme if challenge else None
        raise InsufficientScope(security_scopes.scopes, scheme)
    return principal


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
