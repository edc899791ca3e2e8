"""The ASGI application: `uvicorn <package>.main:app`. Tests use `create_app`."""

from __future__ import annotations

import sys

from .app import create_app
from .config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One clear line instead of a traceback: the setting and how to fix it.
    sys.exit(f"configuration error: {exc}")
