"""The page cursor of GET /admin/users: a listing position, opaque to clients.

A cursor is the last account's sort key in base64url, without padding, so that it
travels in a query string unescaped. It is not signed: it only says where a list
that the caller may read anyway resumes. Clients treat it as opaque so that its
form can change; a string that is not exactly what `encode` makes is refused.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import datetime, timedelta

from ..users.service import Position

# Room for the longest cursor `encode` makes (some 90 characters), and no more.
MAX_LENGTH = 200
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class InvalidCursor(ValueError):
    """Raised for a cursor that `encode` did not make (garbled, edited or cut)."""


def encode(position: Position) -> str:
    created_at = position.created_at.isoformat(timespec="microseconds")
    raw = f"{created_at} {position.id.hex}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(cursor: str) -> Position:
    """The position `cursor` names; raises InvalidCursor unless `encode` made it."""
    if len(cursor) > MAX_LENGTH or not BASE64URL.fullmatch(cursor):
        raise InvalidCursor(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, hex_id = raw.decode().split(" ")
        position = Position(datetime.fromisoformat(created_at), uuid.UUID(hex=hex_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(cursor) from None
    # Only UTC, as `encode` writes it; anything else was edited (and an offset
    # near the ends of the calendar would overflow when converted).
    if position.created_at.utcoffset() != timedelta(0) or encode(position) != cursor:
        raise InvalidCursor(cursor)
    return position
