"""Single-use tokens sent by email, stored as their SHA-256 only.

A token is 256 random bits, so a plain hash cannot be brute-forced, and a database
leak gives no usable link. Redeeming is one conditional UPDATE: of two concurrent
uses, exactly one wins. Issuing a token spends the account's earlier unused tokens
of the same purpose: only the newest link works.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid

from sqlalchemy import ForeignKey, Index, String, Uuid, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

TOKEN_BYTES = 32  # 256 bits
# What a token is for.
VERIFY = "verify"  # prove the account's address
RESET = "reset"  # set a new password
EMAIL_CHANGE = "email_change"  # prove a new address, then move the account to it


class AccountToken(Base):
    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_id", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(16))
    # The address an email change moves the account to.
    new_email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[int]
    expires_at: Mapped[int]
    used_at: Mapped[int | None] = mapped_column(default=None)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


async def issue(
    db: AsyncSession,
    user_id: uuid.UUID,
    purpose: str,
    lifetime_seconds: int,
    *,
    new_email: str | None = None,
) -> str:
    """A fresh token for `purpose`; earlier unused ones of it are spent. Commits."""
    now = int(time.time())
    await _spend_all(db, user_id, purpose, now)
    token = new_token()
    db.add(
        AccountToken(
            token_hash=hash_token(token),
            user_id=user_id,
            purpose=purpose,
            new_email=new_email,
            created_at=now,
            expires_at=now + lifetime_seconds,
        )
    )
    await db.commit()
    return token


async def peek(db: AsyncSession, token: str, purposes: set[str]) -> AccountToken | None:
    """The live token row (unspent, unexpired, of one of `purposes`), unspent."""
    row: AccountToken | None = await db.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == hash_token(token),
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > int(time.time()),
        )
    )
    return row


async def redeem(db: AsyncSession, token: str, purpose: str) -> bool:
    """Spend a live token of `purpose`; False when it is not (any longer) live.
    Does not commit: the caller commits with the change the token allows."""
    spent = await db.execute(
        update(AccountToken)
        .where(
            AccountToken.token_hash == hash_token(token),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > int(time.time()),
        )
        .values(used_at=int(time.time()))
        .returning(AccountToken.id)
    )
    return spent.one_or_none() is not None


async def last_issued(db: AsyncSession, user_id: uuid.UUID, purpose: str) -> int | None:
    """When the newest token of `purpose` was issued to the account, if ever."""
    newest: int | None = await db.scalar(
        select(AccountToken.created_at)
        .where(AccountToken.user_id == user_id, AccountToken.purpose == purpose)
        .order_by(AccountToken.created_at.desc())
        .limit(1)
    )
    return newest


async def spend_all(db: AsyncSession, user_id: uuid.UUID, purpose: str) -> None:
    """Spend every unused token of `purpose` (not committed)."""
    await _spend_all(db, user_id, purpose, int(time.time()))


async def _spend_all(
    db: AsyncSession, user_id: uuid.UUID, purpose: str, now: int
) -> None:
    await db.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
