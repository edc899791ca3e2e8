"""How a social sign-in fails: a 4xx or 502 with a message for the user."""

from __future__ import annotations


class SocialLoginFailed(Exception):
    """Raised when a sign-in with a provider cannot complete; nothing was created.

    The message is shown to the user as the JSON `detail`; it never holds a token,
    a code or what the provider answered.
    """

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ProviderUnavailable(SocialLoginFailed):
    """Raised when a provider could not be reached or answered nonsense (502)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 502)
