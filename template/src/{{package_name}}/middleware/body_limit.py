"""Refuse request bodies over a size limit before the application reads them."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The rest of the body is never read, so the connection cannot be reused.
CLOSE = {"Connection": "close"}


class BodyTooLarge(Exception):
    """Raised from `receive` once the body has grown past the limit."""


class BodySizeLimitMiddleware:
    """Answers 413 to a body over `max_bytes`, declared or streamed, unread."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = Headers(scope=scope).getlist("content-length")
        if values:
            # Digits only: int() would also take "+1", " 1", "1_0" and "²".
            value = values[0]
            if len(set(values)) != 1 or not (value.isascii() and value.isdigit()):
                await _refuse(scope, receive, send, 400, "Invalid Content-Length")
                return
            if int(value) > self.max_bytes:
                await _refuse(scope, receive, send, 413, "Request body too large")
                return

        received = 0
        exceeded = False
        response_started = False

        async def receive_limited() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def send_unless_exceeded(message: Message) -> None:
            nonlocal response_started
            # FastAPI turns a failed body read into its own 400; the client
            # must get our 413 instead, so anything sent after the limit is
            # dropped until we answer.
            if exceeded and not response_started:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive_limited, send_unless_exceeded)
        except BodyTooLarge:
            if response_started:
                raise
        if exceeded and not response_started:
            await _refuse(scope, receive, send, 413, "Request body too large")


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str
) -> None:
    response = JSONResponse({"detail": detail}, status, headers=CLOSE)
    await response(scope, receive, send)
