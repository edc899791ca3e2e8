"""`Principal`, the caller of a request: it lives in `auth.core.principal`, and is
importable from here too, where routes of earlier releases import it."""

from __future__ import annotations

from .core.principal import Principal

__all__ = ["Principal"]
