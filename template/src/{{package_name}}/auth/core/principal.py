"""The caller of a request, however it authenticated.

Routes, `users/` and the permission checks see only this: never a method's own
types (token claims, API-key rows). Facts a method cannot vouch for stay None.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated account, as the credential that proved it describes it."""

    subject: str  # the account id
    email: str
    roles: frozenset[str]
    scopes: frozenset[str]
    # The credential scheme that authenticated the request: "bearer", "cookie",
    # "api_key" or "basic".
    method: str
    # Whether the account's email address was verified, when the credential was
    # issued or checked (`require_verified` reads it).
    email_verified: bool = False
    # Only where an access token authenticated the request.
    token_id: str | None = None
    session_id: str | None = None
    # Only where an API key did.
    key_id: str | None = None

    @property
    def account_id(self) -> uuid.UUID:
        return uuid.UUID(self.subject)
