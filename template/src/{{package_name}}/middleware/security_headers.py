"""Security headers on every HTTP response (OWASP HTTP Headers cheat sheet)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"


def docs_policy(styles: Sequence[str] = (), workers: str | None = None) -> str:
    """The policy of the docs pages: their files and start-up scripts come from the
    service itself (routes/docs.py), nothing runs inline, images may be data:
    URLs; `styles` adds sources of styles (a nonce, hashes), `workers` of workers."""
    style_src = " ".join(["'self'", *styles])
    worker_src = f"worker-src {workers}; " if workers else ""
    return (
        f"default-src 'none'; script-src 'self'; style-src {style_src}; "
        f"{worker_src}img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


DOCS_CSP = docs_policy()
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=63072000; includeSubDomains"


def security_headers(path: str, *, https: bool, hsts: bool) -> dict[str, str]:
    """The headers SecurityHeadersMiddleware adds to a response for `path`."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": (
            DOCS_CSP if path.startswith(DOCS_PATHS) else STRICT_CSP
        ),
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    # RFC 6797 §7.2: a server must not send HSTS over plain HTTP.
    if hsts and https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    """Adds the `security_headers` a route has not set itself to every response."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = security_headers(
            scope["path"], https=scope["scheme"] == "https", hsts=self.hsts
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
