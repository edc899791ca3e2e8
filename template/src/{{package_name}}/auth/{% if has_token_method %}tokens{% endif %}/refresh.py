"""Refresh tokens (RFC 9700 §4.14): opaque, stored hashed, rotated atomically.

Every login starts a family (its id is the access tokens' `sid`). Each refresh spends
the presented token and issues the next one of the family, in one conditional
UPDATE, so that of two concurrent refreshes exactly one wins. A spent token presented
again is a replay: the whole family is revoked. A family lives at most
REFRESH_TOKEN_DAYS from its login, however often it is refreshed, and dies after
REFRESH_IDLE_DAYS without a refresh.

Two tabs of one browser that refresh at once present the same token: one wins, the
other would look like a replay and log the user out. So the token spent last in its
family, presented again within REFRESH_REUSE_GRACE_SECONDS of being spent, is refused
(`invalid_grant`) without revoking the family: the winner's new pair stays valid (the
practice of Okta's and Auth0's refresh token rotation). Any other reuse, or one after
the grace window, is a replay.

Each token also records the client it was issued to (user agent and address), so
that the account's owner can tell their sessions apart: a family's newest token says
where it was last used.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import NoReturn, Protocol

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Uuid,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ...db import Base

TOKEN_BYTES = 32  # 256 bits
# The longest user agent recorded; the rest is cut off.
USER_AGENT_LENGTH = 256


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
    # When this token was issued: the family's last activity (REFRESH_IDLE_DAYS).
    created_at: Mapped[int]
    family_expires_at: Mapped[int]
    used_at: Mapped[int | None] = mapped_column(default=None)
    revoked_at: Mapped[int | None] = mapped_column(default=None)
    # The client this token was issued to, as it said (user agent) and as seen.
    user_agent: Mapped[str | None] = mapped_column(
        String(USER_AGENT_LENGTH), default=None
    )
    address: Mapped[str | None] = mapped_column(String(64), default=None)


@dataclass(frozen=True, slots=True)
class Client:
    """Where a login or refresh came from, recorded with its session."""

    user_agent: str | None = None
    address: str | None = None

    @classmethod
    def of(cls, user_agent: str | None, address: str | None) -> Client:
        return cls(user_agent[:USER_AGENT_LENGTH] if user_agent else None, address)


# A client nothing is known of (a session started outside a request).
UNKNOWN_CLIENT = Client()


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live family as its owner sees it (times are Unix seconds)."""

    id: str
    started_at: int
    last_used_at: int
    expires_at: int
    user_agent: str | None
    address: str | None


@dataclass(frozen=True, slots=True)
class Rotation:
    """The outcome of a successful refresh: the new token and what it carries."""

    token: str
    family_id: str
    user_id: uuid.UUID
    scope: str


class ScopeNotGranted(Exception):
    """Raised when a refresh asks for a scope its session was not granted."""


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    """How long an unused family lives, and the grace for concurrent refreshes."""

    idle_seconds: int
    reuse_grace_seconds: int


class RefreshRejected(Exception):
    """Raised for an unknown, expired, revoked or already spent refresh token.

    `family_id` is set when the family has been revoked because of it (a replay).
    """

    def __init__(self, reason: str, family_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.family_id = family_id


class Families(Protocol):
    """Where refresh token families live, shared by every process of the service.

    Each call gets the request's database session: the database store works in it
    (one connection per request, never two), another store may leave it alone.
    """

    async def start(
        self,
        db: AsyncSession,
        user_id: uuid.UUID,
        scope: str,
        lifetime_seconds: int,
        client: Client = UNKNOWN_CLIENT,
    ) -> Rotation:
        """Start a family; returns its first token."""

    async def rotate(
        self,
        db: AsyncSession,
        token: str,
        requested: frozenset[str],
        policy: RotationPolicy,
        client: Client = UNKNOWN_CLIENT,
    ) -> Rotation:
        """Spend `token` and issue its successor, atomically (see `rotate`)."""

    async def live(
        self, db: AsyncSession, user_id: uuid.UUID, policy: RotationPolicy
    ) -> list[SessionRecord]:
        """The user's families that a refresh could still continue, newest use
        first."""

    async def family_of(self, db: AsyncSession, token: str) -> str | None:
        """The family of a token, spent or not; None for an unknown token."""

    async def owner_of(self, db: AsyncSession, token: str) -> uuid.UUID | None:
        """The user of a token, spent or not; None for an unknown token."""

    async def expires_at(self, db: AsyncSession, family_id: str) -> int | None:
        """When a family ends at the latest (its login + REFRESH_TOKEN_DAYS); None
        for an unknown one."""

    async def revoke(self, db: AsyncSession, family_id: str) -> None:
        """Revoke every token of a family; idempotent."""

    async def revoke_user(
        self, db: AsyncSession, user_id: uuid.UUID, keep: str | None = None
    ) -> list[str]:
        """Revoke every live family of a user but `keep`; returns their ids."""


class DatabaseFamilies:
    """Families in the `refresh_tokens` table: the functions below."""

    async def start(
        self,
        db: AsyncSession,
        user_id: uuid.UUID,
        scope: str,
        lifetime_seconds: int,
        client: Client = UNKNOWN_CLIENT,
    ) -> Rotation:
        return await start_family(db, user_id, scope, lifetime_seconds, client)

    async def rotate(
        self,
        db: AsyncSession,
        token: str,
        requested: frozenset[str],
        policy: RotationPolicy,
        client: Client = UNKNOWN_CLIENT,
    ) -> Rotation:
        return await rotate(db, token, requested, policy=policy, client=client)

    async def live(
        self, db: AsyncSession, user_id: uuid.UUID, policy: RotationPolicy
    ) -> list[SessionRecord]:
        return await live_families(db, user_id, policy)

    async def family_of(self, db: AsyncSession, token: str) -> str | None:
        return await family_of(db, token)

    async def owner_of(self, db: AsyncSession, token: str) -> uuid.UUID | None:
        owner: uuid.UUID | None = await db.scalar(
            select(RefreshToken.user_id).where(
                RefreshToken.token_hash == hash_token(token)
            )
        )
        return owner

    async def expires_at(self, db: AsyncSession, family_id: str) -> int | None:
        expires: int | None = await db.scalar(
            select(RefreshToken.family_expires_at)
            .where(RefreshToken.family_id == family_id)
            .limit(1)
        )
        return expires

    async def revoke(self, db: AsyncSession, family_id: str) -> None:
        await revoke_family(db, family_id)

    async def revoke_user(
        self, db: AsyncSession, user_id: uuid.UUID, keep: str | None = None
    ) -> list[str]:
        return await revoke_user_families(db, user_id, keep)


def hash_token(token: str) -> str:
    # The token has 256 bits of entropy: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


async def start_family(
    session: AsyncSession,
    user_id: uuid.UUID,
    scope: str,
    lifetime_seconds: int,
    client: Client = UNKNOWN_CLIENT,
) -> Rotation:
    """Start a login session; returns its first refresh token. Commits."""
    now = int(time.time())
    family_id = secrets.token_urlsafe(16)
    family = _add_token(
        session, family_id, user_id, scope, (now, now + lifetime_seconds), client
    )
    await session.commit()
    return family


async def rotate(
    session: AsyncSession,
    token: str,
    requested: frozenset[str] = frozenset(),
    *,
    policy: RotationPolicy,
    client: Client = UNKNOWN_CLIENT,
) -> Rotation:
    """Spend `token` and issue its successor, atomically. Commits.

    Raises RefreshRejected; when the token was a replay, the whole family has been
    revoked by then (its `family_id` says so). Raises ScopeNotGranted, with the
    token left unspent, when `requested` is not within the session's scope.
    """
    now = int(time.time())
    token_hash = hash_token(token)
    # One statement decides who wins: the UPDATE only matches an unspent token, so a
    # concurrent second refresh finds nothing. (A SELECT then UPDATE would let both
    # through.)
    spent = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, *_spendable(now, policy))
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
        await _reject(session, token_hash, now, policy)
    family_id, user_id, scope, family_expires_at = row
    if not requested <= set(scope.split()):
        await session.rollback()  # the token stays usable
        raise ScopeNotGranted(family_id)
    successor = _add_token(
        session, family_id, user_id, scope, (now, family_expires_at), client
    )
    await session.commit()
    return successor


def _spendable(now: int, policy: RotationPolicy) -> tuple[ColumnElement[bool], ...]:
    """What makes a token one that a refresh may spend: unspent, not revoked, of a
    family neither expired nor idle past the policy."""
    return (
        RefreshToken.used_at.is_(None),
        RefreshToken.revoked_at.is_(None),
        RefreshToken.family_expires_at > now,
        RefreshToken.created_at > now - policy.idle_seconds,
    )


async def _reject(
    session: AsyncSession, token_hash: str, now: int, policy: RotationPolicy
) -> NoReturn:
    """Why the token could not be spent; revokes its family unless it is the grace
    case (the family's newest spent token, reused moments after it was spent)."""
    presented = (
        await session.execute(
            select(RefreshToken.id, RefreshToken.family_id, RefreshToken.used_at)
            .where(RefreshToken.token_hash == token_hash)
            .where(RefreshToken.revoked_at.is_(None))
        )
    ).one_or_none()
    if presented is None:
        # Unknown, or its family was revoked already: nothing more to revoke.
        raise RefreshRejected("unknown or revoked refresh token")
    token_id, family_id, used_at = presented
    # Whole seconds: `<`, so that a grace of 0 is no grace at all.
    if used_at is not None and now - used_at < policy.reuse_grace_seconds:
        spent_later = await session.scalar(
            select(func.count())
            .select_from(RefreshToken)
            .where(
                RefreshToken.family_id == family_id,
                RefreshToken.id > token_id,
                RefreshToken.used_at.is_not(None),
            )
        )
        if not spent_later:
            raise RefreshRejected("refreshed concurrently, within the grace window")
    await revoke_family(session, family_id)
    raise RefreshRejected("spent or expired refresh token", family_id)


def _add_token(
    session: AsyncSession,
    family_id: str,
    user_id: uuid.UUID,
    scope: str,
    lifetime: tuple[int, int],
    client: Client,
) -> Rotation:
    """Add a fresh token of the family to the session (not committed); `lifetime`
    is (now, when the family expires)."""
    token = new_token()
    session.add(
        RefreshToken(
            token_hash=hash_token(token),
            family_id=family_id,
            user_id=user_id,
            scope=scope,
            created_at=lifetime[0],
            family_expires_at=lifetime[1],
            user_agent=client.user_agent,
            address=client.address,
        )
    )
    return Rotation(token, family_id, user_id, scope)


async def family_of(session: AsyncSession, token: str) -> str | None:
    """The family of a refresh token, spent or not; None for an unknown token."""
    family_id: str | None = await session.scalar(
        select(RefreshToken.family_id).where(
            RefreshToken.token_hash == hash_token(token)
        )
    )
    return family_id


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    """Revoke every token of a family. Commits; idempotent."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=int(time.time()))
    )
    await session.commit()


async def live_families(
    session: AsyncSession, user_id: uuid.UUID, policy: RotationPolicy
) -> list[SessionRecord]:
    """The user's families that a refresh could continue, newest use first: each
    has one unspent token, issued at its last use."""
    now = int(time.time())
    heads = (
        await session.execute(
            select(RefreshToken)
            .where(RefreshToken.user_id == user_id, *_spendable(now, policy))
            .order_by(RefreshToken.created_at.desc(), RefreshToken.id.desc())
        )
    ).scalars()
    records = {head.family_id: head for head in heads}
    if not records:
        return []
    firsts = await session.execute(
        select(RefreshToken.family_id, func.min(RefreshToken.created_at))
        .where(RefreshToken.family_id.in_(records))
        .group_by(RefreshToken.family_id)
    )
    started: dict[str, int] = dict(firsts.all())
    return [
        SessionRecord(
            id=family_id,
            started_at=started.get(family_id, head.created_at),
            last_used_at=head.created_at,
            expires_at=head.family_expires_at,
            user_agent=head.user_agent,
            address=head.address,
        )
        for family_id, head in records.items()
    ]


async def revoke_user_families(
    session: AsyncSession, user_id: uuid.UUID, keep: str | None = None
) -> list[str]:
    """Revoke every live family of a user but `keep`; returns their ids. Commits."""
    kept = () if keep is None else (RefreshToken.family_id != keep,)
    revoked = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None), *kept
        )
        .values(revoked_at=int(time.time()))
        .returning(RefreshToken.family_id)
    )
    family_ids = sorted(set(revoked.scalars().all()))
    await session.commit()
    return family_ids
