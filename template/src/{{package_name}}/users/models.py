"""The user account table and its roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import JSON, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime

# The roles an account may have (what each may do: auth/core/permissions.py).
USER = "user"
ADMIN = "admin"


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Stored normalised (lower case); unique.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # None for accounts that sign in only with a provider (social login).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the owner proved the address is theirs (a link sent to it, an
    # administrator, a provider that vouches for it); None until then.
    email_verified_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=None
    )

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
