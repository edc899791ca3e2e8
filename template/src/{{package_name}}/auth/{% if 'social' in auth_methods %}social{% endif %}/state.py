"""The state of a sign-in in progress: in a signed cookie of its own, used once.

`GET /auth/{provider}/login` makes a random `state`, PKCE verifier and nonce (256
bits each) and puts them in a cookie signed with SESSION_SECRET that only the
callback path receives (HttpOnly, SameSite=Lax, ten minutes). Each sign-in has its
own cookie, named after its state, so two logins in two tabs never overwrite each
other and nothing grows. The callback takes the cookie named by the `state` it is
given, checks the signature, age and provider, and records the state as spent in
the database, so that a replayed callback fails on every process.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...config import Settings
from ...users.models import utcnow
from ..tokens.refresh import hash_token
from .errors import SocialLoginFailed
from .models import SpentState

STATE_SECONDS = 600
SECURE_PREFIX = "__Secure-"
COOKIE_PREFIX = "social_"


@dataclass(frozen=True)
class FlowState:
    """What the callback must find again: the request's secrets and purpose."""

    provider: str
    state: str
    code_verifier: str
    nonce: str
    # Set when a signed-in user links a provider to their account.
    link_account: uuid.UUID | None = None
    # A path on the front end to land on afterwards.
    next_path: str | None = None

    @classmethod
    def new(
        cls,
        provider: str,
        *,
        link_account: uuid.UUID | None = None,
        next_path: str | None = None,
    ) -> FlowState:
        return cls(
            provider,
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(48),  # RFC 7636: 43 to 128 characters
            secrets.token_urlsafe(32),
            link_account,
            next_path,
        )


class StateCookies:
    """Writes and reads the signed cookies of sign-ins in progress."""

    def __init__(self, secret: bytes, *, secure: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="social-login-state")
        self.secure = secure
        self._prefix = (SECURE_PREFIX if secure else "") + COOKIE_PREFIX

    @classmethod
    def from_settings(cls, settings: Settings) -> StateCookies:
        assert settings.session_secret is not None  # noqa: S101  (checked by Settings)
        return cls(
            settings.session_secret.get_secret_value().encode(),
            secure=settings.uses_https,
        )

    def name(self, state: str) -> str:
        return self._prefix + hash_token(state)[:16]

    def store(self, response: Response, flow: FlowState, callback_path: str) -> None:
        payload = {
            "p": flow.provider,
            "s": flow.state,
            "v": flow.code_verifier,
            "n": flow.nonce,
            "u": str(flow.link_account) if flow.link_account else None,
            "t": flow.next_path,
        }
        response.set_cookie(
            self.name(flow.state),
            self._signer.dumps(payload),
            max_age=STATE_SECONDS,
            path=callback_path,
            secure=self.secure,
            httponly=True,
            samesite="lax",  # sent on the provider's top-level redirect back
        )

    def clear(self, response: Response, state: str, callback_path: str) -> None:
        response.delete_cookie(
            self.name(state),
            path=callback_path,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def load(self, request: Request, provider: str, state: str | None) -> FlowState:
        """The sign-in this callback ends; SocialLoginFailed if there is none."""
        if not state or len(state) > 200:
            raise SocialLoginFailed("The sign-in has no state: start it again.")
        cookie = request.cookies.get(self.name(state))
        if cookie is None:
            raise SocialLoginFailed(
                "No sign-in in progress in this browser (it expired or was used):"
                " start it again."
            )
        try:
            data = self._signer.loads(cookie, max_age=STATE_SECONDS)
        except BadSignature:  # SignatureExpired too
            raise SocialLoginFailed(
                "The sign-in expired or was tampered with: start it again."
            ) from None
        if not isinstance(data, dict) or not hmac.compare_digest(
            str(data.get("s", "")), state
        ):
            raise SocialLoginFailed("The sign-in's state does not match.")
        if data.get("p") != provider:
            raise SocialLoginFailed("The sign-in was started with another provider.")
        link = data.get("u")
        return FlowState(
            provider,
            state,
            str(data["v"]),
            str(data["n"]),
            uuid.UUID(link) if link else None,
            data.get("t"),
        )


async def spend(db: AsyncSession, state: str) -> None:
    """Record the state as used (commits); SocialLoginFailed if it already was."""
    now = utcnow()
    await db.execute(delete(SpentState).where(SpentState.expires_at < now))
    db.add(
        SpentState(
            state_hash=hash_token(state),
            expires_at=now + timedelta(seconds=STATE_SECONDS + 60),
        )
    )
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise SocialLoginFailed(
            "This sign-in was already completed: start it again."
        ) from None
