"""Roles and the OAuth2 scopes each role may be granted."""

from __future__ import annotations

from collections.abc import Iterable

from ...users.models import ADMIN, USER

__all__ = ["ADMIN", "ROLE_SCOPES", "SCOPES", "USER", "allowed_scopes", "parse_scope"]

# Scopes listed in OpenAPI (Swagger UI's Authorize dialog) and accepted at login.
SCOPES: dict[str, str] = {
    "profile": "Read your own account.",
    "admin": "Manage user accounts (administrators only).",
}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    USER: frozenset({"profile"}),
    ADMIN: frozenset({"profile", "admin"}),
}


def allowed_scopes(roles: Iterable[str]) -> frozenset[str]:
    """Every scope that a holder of `roles` may be granted."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(granted)


def parse_scope(scope: str | None) -> list[str]:
    """The scope names of an RFC 6749 `scope` parameter, in order, without repeats."""
    return list(dict.fromkeys((scope or "").split()))
