"""One-time codes: how a front end on another origin gets the token pair.

The callback redirects the browser to SOCIAL_REDIRECT_URL with a random code in
the URL fragment (which browsers never send to servers nor put in a Referer); the
front end posts it to POST /auth/social/exchange. A code works once, for
CODE_SECONDS, and only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ...db import Base, UTCDateTime
from ...users.models import utcnow

CODE_SECONDS = 60
MAX_CODE_LENGTH = 100


class ExchangeCode(Base):
    """A code the callback handed out, until it is exchanged or expires."""

    __tablename__ = "social_exchange_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def issue_code(db: AsyncSession, user_id: uuid.UUID) -> str:
    """A new code for the account (commits); expired codes are pruned."""
    now = utcnow()
    await db.execute(delete(ExchangeCode).where(ExchangeCode.expires_at < now))
    code = secrets.token_urlsafe(32)
    db.add(
        ExchangeCode(
            code_hash=_digest(code),
            user_id=user_id,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
    )
    await db.commit()
    return code


async def redeem_code(db: AsyncSession, code: str) -> uuid.UUID | None:
    """The account of a live code, which is spent (commits); None otherwise.

    One DELETE ... RETURNING: of two requests with the same code, one wins.
    """
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    result = await db.execute(
        delete(ExchangeCode)
        .where(
            ExchangeCode.code_hash == _digest(code),
            ExchangeCode.expires_at > utcnow(),
        )
        .returning(ExchangeCode.user_id)
    )
    user_id = result.scalar_one_or_none()
    await db.commit()
    return user_id
