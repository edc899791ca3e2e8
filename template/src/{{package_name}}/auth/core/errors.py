"""The authentication errors; `errors.install_error_handlers` maps them to HTTP."""

from __future__ import annotations


class AuthError(Exception):
    """Base class: the caller could not be authenticated or authorised."""

    # The `WWW-Authenticate` scheme that failed, where one did.
    scheme: str | None = None


class MissingCredentials(AuthError):
    """Raised when a protected route gets no credentials at all (401, no error)."""


class InvalidToken(AuthError):
    """Raised for a malformed, forged, expired or otherwise unusable token (401).

    The reason is for logs and tests only; it never reaches the response.
    """

    scheme = "Bearer"


class InvalidCredentials(AuthError):
    """Raised for an unusable API key or Basic credentials (401): one answer per
    scheme, whatever the reason, which is for logs and tests only."""

    def __init__(self, scheme: str, reason: str) -> None:
        super().__init__(reason)
        self.scheme = scheme


class InvalidRequest(AuthError):
    """Raised for a malformed authentication request, such as a token in the query
    string or two Authorization headers (400 invalid_request)."""

    def __init__(self, message: str, scheme: str | None = "Bearer") -> None:
        super().__init__(message)
        self.scheme = scheme


class InsufficientScope(AuthError):
    """Raised when a valid token lacks a scope the route needs (403)."""

    def __init__(self, required: list[str], scheme: str | None = None) -> None:
        super().__init__("insufficient scope")
        self.required = required
        self.scheme = scheme


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
