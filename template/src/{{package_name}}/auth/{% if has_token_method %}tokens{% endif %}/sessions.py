"""Login sessions: token pairs, refresh, logout; listing and ending sessions."""

from __future__ import annotations

import logging
import time
import uuid

from pydantic import BaseModel, PrivateAttr
from sqlalchemy.ext.asyncio import AsyncSession

from ...users.models import User
from ..core.errors import OAuthError
from ..core.permissions import allowed_scopes, parse_scope
from ..core.principal import Principal
from ..core.revocation import RevocationList
from .handler import AccessClaims, TokenHandler
from .refresh import (
    UNKNOWN_CLIENT,
    Client,
    Families,
    RefreshRejected,
    RotationPolicy,
    ScopeNotGranted,
    SessionRecord,
)

audit = logging.getLogger(__name__.partition(".")[0] + ".audit")


class TokenPair(BaseModel):
    """RFC 6749 §5.1 token response; sent with `Cache-Control: no-store`."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105  (a token type, not a secret)
    expires_in: int
    scope: str
    # The refresh family (the tokens' `sid`): for the server only, never sent.
    _session_id: str = PrivateAttr(default="")

    @property
    def session_id(self) -> str:
        return self._session_id


class SessionManager:
    """Issues, refreshes and revokes token pairs."""

    def __init__(
        self,
        tokens: TokenHandler,
        revocations: RevocationList,
        families: Families,
        refresh_lifetime_seconds: int,
        policy: RotationPolicy,
    ) -> None:
        self.tokens = tokens
        self.revocations = revocations
        self.families = families
        self.refresh_lifetime_seconds = refresh_lifetime_seconds
        self.policy = policy

    async def login(
        self,
        db: AsyncSession,
        user: User,
        scopes: frozenset[str] | None = None,
        client: Client = UNKNOWN_CLIENT,
    ) -> TokenPair:
        """Start a session for `user`; `scopes` defaults to all the user may have."""
        granted = allowed_scopes(user.roles) if scopes is None else scopes
        scope = " ".join(sorted(granted))
        family = await self.families.start(
            db, user.id, scope, self.refresh_lifetime_seconds, client
        )
        return self._pair(user, family.token, family.family_id, granted)

    async def refresh(
        self,
        db: AsyncSession,
        refresh_token: str,
        scope: str | None = None,
        client: Client = UNKNOWN_CLIENT,
    ) -> TokenPair:
        """Rotate `refresh_token`; raises OAuthError invalid_grant / invalid_scope.

        The new tokens never carry more than the session was granted, nor more than
        the user's current roles allow; `scope` may narrow them further.
        """
        requested = frozenset(parse_scope(scope))
        # The account first: a database that does not answer then fails the refresh
        # (503) with the token unspent, never spent without a successor.
        owner_id = await self.families.owner_of(db, refresh_token)
        owner = await db.get(User, owner_id) if owner_id is not None else None
        # End that read: the rotation's transaction then begins with its write, as
        # short as it can be.
        await db.commit()
        try:
            rotation = await self.families.rotate(
                db, refresh_token, requested, self.policy, client
            )
        except ScopeNotGranted:
            raise OAuthError(
                "invalid_scope", "Refresh cannot widen the scope."
            ) from None
        except RefreshRejected as exc:
            if exc.family_id is not None:
                audit.warning("refresh.replay_detected", extra={"sid": exc.family_id})
                await self._revoke_session(db, exc.family_id)
            else:
                audit.info("refresh.refused", extra={"reason": exc.reason})
            raise OAuthError("invalid_grant", "The refresh token is invalid.") from None
        user = owner if owner is not None and owner.id == rotation.user_id else None
        if user is None or not user.is_active:
            await self.families.revoke(db, rotation.family_id)
            await self._revoke_session(db, rotation.family_id)
            raise OAuthError("invalid_grant", "The refresh token is invalid.")
        granted = requested or frozenset(rotation.scope.split())
        granted &= allowed_scopes(user.roles)
        audit.info(
            "refresh.succeeded",
            extra={"user_id": str(user.id), "sid": rotation.family_id},
        )
        return self._pair(user, rotation.token, rotation.family_id, granted)

    async def logout(self, db: AsyncSession, claims: AccessClaims) -> None:
        """Deny this access token until it expires and end its session. Idempotent."""
        await self.revocations.revoke(
            db, "jti", claims.token_id, covers_until=claims.expires_at
        )
        await self.families.revoke(db, claims.session_id)
        await self._revoke_session(db, claims.session_id)
        audit.info(
            "logout", extra={"user_id": claims.subject, "sid": claims.session_id}
        )

    async def family_of(self, db: AsyncSession, refresh_token: str) -> str | None:
        """The session a refresh token belongs to, spent or not; None if unknown."""
        return await self.families.family_of(db, refresh_token)

    async def end_all_sessions(self, db: AsyncSession, user: User) -> None:
        """End every refresh family of `user`; `AccountAccess.end` calls it, and
        revokes the access tokens too."""
        await self.end_sessions(db, user.id)

    async def list_sessions(
        self, db: AsyncSession, user_id: uuid.UUID
    ) -> list[SessionRecord]:
        """The user's live sessions, the most recently used first."""
        return await self.families.live(db, user_id, self.policy)

    async def end_session(
        self, db: AsyncSession, user_id: uuid.UUID, session_id: str
    ) -> bool:
        """End one live session of the user, its access tokens included; False when
        the user has no such session (another user's, or ended already)."""
        live = await self.families.live(db, user_id, self.policy)
        if session_id not in {record.id for record in live}:
            return False
        await self.families.revoke(db, session_id)
        await self._revoke_session(db, session_id)
        audit.info("session.ended", extra={"user_id": str(user_id), "sid": session_id})
        return True

    async def end_sessions(
        self, db: AsyncSession, user_id: uuid.UUID, keep: str | None = None
    ) -> list[str]:
        """End every session of the user but `keep`, access tokens included;
        returns the ids of those ended."""
        ended = await self.families.revoke_user(db, user_id, keep)
        for family_id in ended:
            await self._revoke_session(db, family_id)
        audit.info(
            "sessions.ended",
            extra={"user_id": str(user_id), "count": len(ended), "kept": keep},
        )
        return ended

    async def signed_in_at(self, db: AsyncSession, caller: Principal) -> int | None:
        """When the caller's session began: its login (Unix time); None for a
        caller without one."""
        if caller.session_id is None:
            return None
        expires = await self.families.expires_at(db, caller.session_id)
        return None if expires is None else expires - self.refresh_lifetime_seconds

    async def _revoke_session(self, db: AsyncSession, family_id: str) -> None:
        # Access tokens of the session die too; they all expire within a lifetime.
        covers_until = int(time.time()) + self.tokens.lifetime_seconds
        await self.revocations.revoke(db, "sid", family_id, covers_until=covers_until)

    def _pair(
        self, user: User, refresh_token: str, family_id: str, scopes: frozenset[str]
    ) -> TokenPair:
        issued = self.tokens.sign_jwt(
            subject=str(user.id),
            email=user.email,
            scopes=scopes,
            roles=user.roles,
            session_id=family_id,
            email_verified=user.email_verified,
        )
        pair = TokenPair(
            access_token=issued.token,
            refresh_token=refresh_token,
            expires_in=issued.expires_in,
            scope=" ".join(sorted(scopes)),
        )
        pair._session_id = family_id
        return pair
