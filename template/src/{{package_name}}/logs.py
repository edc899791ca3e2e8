"""Logging: audit events as JSON lines on stderr, and no query string in access logs.

Alembic's fileConfig (root at WARNING) and uvicorn's dictConfig both run in a served
process, so the audit logger is set up on its own instead of relying on the root.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

AUDIT_LOGGER = __name__.partition(".")[0] + ".audit"  # as every module names it
# Uvicorn logs HTTP requests on uvicorn.access, WebSocket handshakes on uvicorn.error.
UVICORN_LOGGERS = ("uvicorn.access", "uvicorn.error")


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is when it emits (pytest swaps sys.stderr)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass  # StreamHandler.__init__ assigns it; the property always wins.


class RedactQueryFilter(logging.Filter):
    """Replace the query string of request targets in uvicorn's records by <redacted>.

    uvicorn 0.54 (protocols/http/h11_impl.py, httptools_impl.py) logs
        access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope),
                           scope["method"], get_path_with_query_string(scope),
                           scope["http_version"], status)
    and the WebSocket protocols log '%s - "WebSocket %s" ...' with the same
    get_path_with_query_string(scope), which returns quote(path) + "?" + query: the
    path is percent-encoded, so its first "?" starts the query (a token may be there).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        return True


def _redact(arg: object) -> object:
    if isinstance(arg, str) and arg.startswith("/") and "?" in arg:
        return arg.partition("?")[0] + "?<redacted>"
    return arg


def configure_logging(level: str = "INFO") -> None:
    """Idempotent; safe before or after Alembic's fileConfig and uvicorn's dictConfig
    (neither removes a logger's filters, nor the handlers of loggers they don't name).
    """
    audit = logging.getLogger(AUDIT_LOGGER)
    audit.setLevel(level.upper())
    audit.propagate = False  # its own handler prints it; the root must not print twice
    audit.disabled = False  # undo an earlier fileConfig(disable_existing_loggers=True)
    if not any(isinstance(h, _StderrHandler) for h in audit.handlers):
        handler = _StderrHandler()
        handler.setFormatter(
            JsonFormatter(
                ["levelname", "name", "message"],
                rename_fields={
                    "levelname": "level",
                    "name": "logger",
                    "message": "event",
                },
                timestamp=True,  # ISO 8601, UTC
            )
        )
        audit.addHandler(handler)
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryFilter) for f in uvicorn_logger.filters):
            uvicorn_logger.addFilter(RedactQueryFilter())
