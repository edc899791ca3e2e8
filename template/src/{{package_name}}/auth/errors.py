"""The authentication errors; `errors.install_error_handlers` maps them to HTTP."""

from __future__ import annotations


class AuthError(Exception):
    """Base class: the caller could not be authenticated or authorised."""


class MissingCredentials(AuthError):
    """Raised when a protected route gets no credentials at all (401, no error)."""


class InvalidToken(AuthError):
    """Raised for a malformed, forged, expired or otherwise unusable token (401).

    The reason is for logs and tests only; it never reaches the response.
    """


class InvalidRequest(AuthError):
    """Raised for a malformed authentication request, such as a token in the query
    string or two Authorization headers (400 invalid_request)."""


class InsufficientScope(AuthError):
    """Raised when a valid token lacks a scope the route needs (403)."""

    def __init__(self, required: list[str]) -> None:
        super().__init__("insufficient scope")
        self.required = required


class MissingRole(AuthError):
    """Raised when an authenticated caller lacks every role a route accepts (403)."""


class CSRFFailed(AuthError):
    """Raised when a cookie-authenticated unsafe request lacks the CSRF proof (403)."""


class TooManyAttempts(AuthError):
    """Raised when an account or client has failed to log in too often (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many login attempts")
        self.retry_after = max(retry_after, 1)


class RevocationsUnavailable(AuthError):
    """Raised when revocations could not be synced for too long: fail closed (503)."""


class LoginFailed(AuthError):
    """Raised by a login that fails, whatever the cause: one answer for all (401)."""


class OAuthError(Exception):
    """An RFC 6749 §5.2 error of the token endpoint (400 unless stated)."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code
