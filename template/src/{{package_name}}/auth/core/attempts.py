"""What checking a password asks of the brute-force limits.

Every check of a password (both logins, and re-authentication such as a password
change), every sign-up and every request that sends a message by email go through
a `Limiter`: the login throttle (`auth/core/throttle.py`) when rate limiting is
chosen, `Unlimited` otherwise.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import Request


class Attempt(Protocol):
    """A password check under way, as the limiter counts it."""


class Limiter(Protocol):
    """Brute-force limits on password checks and sign-ups."""

    async def begin(self, request: Request, email: str) -> Attempt | None:
        """Admit a password check for `email`, or raise TooManyAttempts (429)."""

    async def finish(self, attempt: Attempt | None, *, succeeded: bool | None) -> None:
        """Count the outcome: True or False once checked, None if never checked."""

    async def register(self, request: Request) -> None:
        """Count a sign-up from this client, or raise TooManyAttempts (429)."""

    async def mail(self, request: Request, email: str) -> None:
        """Count a request that sends `email` a message (a link to verify, to reset
        a password), or raise TooManyAttempts (429). Keyed by the address as given:
        the answer is the same whether or not it has an account."""


class Unlimited:
    """No limits: what a project without rate limiting uses."""

    async def begin(self, request: Request, email: str) -> Attempt | None:
        return None

    async def finish(self, attempt: Attempt | None, *, succeeded: bool | None) -> None:
        return None

    async def register(self, request: Request) -> None:
        return None

    async def mail(self, request: Request, email: str) -> None:
        return None
