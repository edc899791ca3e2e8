"""Refresh tokens (RFC 9700 §4.14): opaque, stored hashed, rotated atomically.

Every login starts a family (its id is the access tokens' `sid`). Each refresh spends
the presented token and issues the next one of the family, in one conditional
UPDATE, so that of two concurrent refreshes exactly one wins. A spent token presented
again is a replay: the whole family is revoked. A family lives at most
REFRESH_TOKEN_DAYS from its login, however often it is refreshed.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import ForeignKey, Index, String, Uuid, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

TOKEN_BYTES = 32  # 256 bits


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family_id", "family_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[int]
    family_expires_at: Mapped[int]
    used_at: Mapped[int | None] = mapped_column(default=None)
    revoked_at: Mapped[int | None] = mapped_column(default=None)


@dataclass(frozen=True, slots=True)
class Rotation:
    """The outcome of a successful refresh: the new token and what it carries."""

    token: str
    family_id: str
    user_id: uuid.UUID
    scope: str


class ScopeNotGranted(Exception):
    """Raised when a refresh asks for a scope its session was not granted."""


class RefreshRejected(Exception):
    """Raised for an unknown, expired, revoked or already spent refresh token."""

    def __init__(self, reason: str, family_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.family_id = family_id


def hash_token(token: str) -> str:
    # The token has 256 bits of entropy: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


async def start_family(
    session: AsyncSession, user_id: uuid.UUID, scope: str, lifetime_seconds: int
) -> Rotation:
    """Start a login session; returns its first refresh token. Commits."""
    now = int(time.time())
    family = _add_token(
        session, secrets.token_urlsafe(16), user_id, scope, now, now + lifetime_seconds
    )
    await session.commit()
    return family


async def rotate(
    session: AsyncSession, token: str, requested: frozenset[str] = frozenset()
) -> Rotation:
    """Spend `token` and issue its successor, atomically. Commits.

    Raises RefreshRejected; when the token was already spent or revoked, the whole
    family has been revoked by then (replay detection). Raises ScopeNotGranted, with
    the token left unspent, when `requested` is not within the session's scope.
    """
    now = int(time.time())
    token_hash = hash_token(token)
    # One statement decides who wins: the UPDATE only matches an unspent token, so a
    # concurrent second refresh finds nothing. (A SELECT then UPDATE would let both
    # through.)
    spent = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == token_hash,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.family_expires_at > now,
        )
        .values(used_at=now)
        .returning(
            RefreshToken.family_id,
            RefreshToken.user_id,
            RefreshToken.scope,
            RefreshToken.family_expires_at,
        )
    )
    row = spent.one_or_none()
    if row is None:
        await session.rollback()
        family_id = await session.scalar(
            select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash)
        )
        if family_id is None:
            raise RefreshRejected("unknown refresh token")
        await revoke_family(session, family_id)
        raise RefreshRejected("spent, revoked or expired refresh token", family_id)
    family_id, user_id, scope, family_expires_at = row
    if not requested <= set(scope.split()):
        await session.rollback()  # the token stays usable
        raise ScopeNotGranted(family_id)
    successor = _add_token(session, family_id, user_id, scope, now, family_expires_at)
    await session.commit()
    return successor


def _add_token(
    session: AsyncSession,
    family_id: str,
    user_id: uuid.UUID,
    scope: str,
    now: int,
    family_expires_at: int,
) -> Rotation:
    """Add a fresh token of the family to the session (not committed)."""
    token = new_token()
    session.add(
        RefreshToken(
            token_hash=hash_token(token),
            family_id=family_id,
            user_id=user_id,
            scope=scope,
            created_at=now,
            family_expires_at=family_expires_at,
        )
    )
    return Rotation(token, family_id, user_id, scope)


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    """Revoke every token of a family. Commits; idempotent."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=int(time.time()))
    )
    await session.commit()


async def revoke_user_families(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """Revoke every live family of a user; returns their ids. Commits."""
    revoked = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=int(time.time()))
        .returning(RefreshToken.family_id)
    )
    family_ids = sorted(set(revoked.scalars().all()))
    await session.commit()
    return family_ids
