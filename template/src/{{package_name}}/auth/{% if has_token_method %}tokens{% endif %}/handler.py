"""The token handler: signs access tokens and verifies them strictly (RFC 8725, 9068).

`decode_jwt` trusts nothing in a token before its signature is checked with the one
configured key and algorithm, and then checks every claim and its JSON type itself.
Every failure is an `InvalidToken`, whatever PyJWT or the input did.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from ...config import Settings
from ..core.errors import InvalidToken
from ..core.principal import Principal
from ..core.revocation import RevocationList
from .key_sources import load_keyring
from .keys import Keyring, SigningKey

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105  (a media type, not a secret)
MAX_TOKEN_LENGTH = 8192
# Three base64url segments, the signature non-empty: refuses `alg: none` tokens,
# JWE (five segments), JSON serialization, padding, whitespace and NUL at once.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ALLOWED_HEADER = frozenset({"alg", "typ", "kid"})
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "nbf", "jti"]
_INT_CLAIMS = ("exp", "iat", "nbf")
_STR_CLAIMS = ("iss", "sub", "jti", "scope", "sid", "email")
# Clock skew forgiven on exp, nbf and iat. Whatever revokes a token early must outlive
# its exp by this much too (see auth/core/revocation.py), or the token would come
# back to life.
LEEWAY_SECONDS = 30
# Verified tokens remembered, so that each token's signature is checked once.
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an access token: who the caller is and may do."""

    subject: str
    email: str
    scopes: frozenset[str]
    roles: frozenset[str]
    token_id: str
    session_id: str
    issued_at: int
    expires_at: int
    email_verified: bool = False

    def admit(self, revocations: RevocationList, method: str) -> Principal:
        """The caller, authenticated by `method`; InvalidToken if revoked."""
        if revocations.is_revoked(
            self.subject, self.issued_at, self.token_id, self.session_id
        ):
            raise InvalidToken("revoked")
        return self.principal(method)

    def principal(self, method: str) -> Principal:
        """The caller this token speaks for, authenticated by `method`."""
        return Principal(
            subject=self.subject,
            email=self.email,
            roles=self.roles,
            scopes=self.scopes,
            method=method,
            email_verified=self.email_verified,
            token_id=self.token_id,
            session_id=self.session_id,
        )


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    claims: AccessClaims


class TokenHandler:
    """Signs and verifies the service's access tokens with one pinned key."""

    def __init__(
        self,
        keyring: Keyring,
        *,
        issuer: str,
        audience: str,
        lifetime_seconds: int,
        client_id: str,
    ) -> None:
        self.keyring = keyring
        self.key = keyring.current
        self._verified: dict[str, AccessClaims] = {}
        self.issuer = issuer
        self.audience = audience
        self.lifetime_seconds = lifetime_seconds
        self.client_id = client_id

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenHandler:
        """The handler the settings describe; raises ConfigError for a bad key."""
        return cls(
            load_keyring(settings),
            issuer=settings.token_issuer,
            audience=settings.jwt_audience,
            lifetime_seconds=settings.access_token_minutes * 60,
            client_id=settings.jwt_client_id,
        )

    def sign_jwt(
        self,
        *,
        subject: str,
        email: str,
        scopes: Iterable[str],
        roles: Iterable[str],
        session_id: str | None = None,
        email_verified: bool = False,
    ) -> IssuedToken:
        now = int(time.time())
        claims = AccessClaims(
            subject=subject,
            email=email,
            scopes=frozenset(scopes),
            roles=frozenset(roles),
            token_id=secrets.token_urlsafe(16),
            session_id=session_id or secrets.token_urlsafe(16),
            issued_at=now,
            expires_at=now + self.lifetime_seconds,
            email_verified=email_verified,
        )
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": claims.subject,
            "exp": claims.expires_at,
            "iat": now,
            "nbf": now,
            "jti": claims.token_id,
            "sid": claims.session_id,
            "scope": " ".join(sorted(claims.scopes)),
            "roles": sorted(claims.roles),
            "email": claims.email,
            "email_verified": claims.email_verified,  # OpenID Connect's claim name
            # RFC 9068 §2.2: the client the token was issued to (our own front end).
            "client_id": self.client_id,
        }
        token = jwt.encode(
            payload,
            self.key.signing_key,
            algorithm=self.key.algorithm,
            headers={"typ": ACCESS_TOKEN_TYPE, "kid": self.key.kid},
        )
        return IssuedToken(token, self.lifetime_seconds, claims)

    def decode_jwt(self, token: str) -> AccessClaims:
        """The verified claims of `token`; raises InvalidToken for any fault.

        A token verified before is found in a bounded cache: only its time claims
        are checked again. (Keys change only at a restart, which empties the cache;
        revocation is checked by the caller on every request.)
        """
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))  # the oldest
            self._verified[token] = claims
        now = time.time()
        if claims.expires_at <= now - LEEWAY_SECONDS:
            del self._verified[token]
            raise InvalidToken("ExpiredSignatureError")
        return claims

    def _verify(self, token: str) -> AccessClaims:
        if len(token) > MAX_TOKEN_LENGTH or not _COMPACT_JWS.fullmatch(token):
            raise InvalidToken("not a compact JWS")
        try:
            header = jwt.get_unverified_header(token)
            key = self._key_for(header)
            payload = jwt.decode(
                token,
                key.verifying_key,
                algorithms=[key.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED_CLAIMS, "strict_aud": True},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(type(exc).__name__) from None
        return self._claims(payload)

    def _key_for(self, header: dict[str, Any]) -> SigningKey:
        # jku, x5u, jwk, x5c and crit are refused here, before anything could use them.
        if not header.keys() <= _ALLOWED_HEADER:
            raise InvalidToken("unexpected header parameter")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not an access token")
        # The kid is only ever a key into our own map; each key pins its algorithm.
        kid = header.get("kid")
        key = self.keyring.verifiers.get(kid) if isinstance(kid, str) else None
        if key is None or header.get("alg") != key.algorithm:
            raise InvalidToken("unknown key or algorithm")
        return key

    def _claims(self, payload: dict[str, Any]) -> AccessClaims:
        # PyJWT accepts exp: "9999999999" and 1e20; JSON integers only here.
        for name in _INT_CLAIMS:
            value = payload.get(name)
            if type(value) is not int:
                raise InvalidToken(f"{name} is not an integer")
        for name in _STR_CLAIMS:
            if not isinstance(payload.get(name), str):
                raise InvalidToken(f"{name} is not a string")
        if payload["iss"] != self.issuer or payload["aud"] != self.audience:
            raise InvalidToken("wrong issuer or audience")
        # Tokens issued before client_id was added lack it; they expire on their own.
        if not isinstance(payload.get("client_id", ""), str):
            raise InvalidToken("client_id is not a string")
        # Subjects are account ids: anything else would only fail later, deeper in.
        if not _is_account_id(payload["sub"]):
            raise InvalidToken("sub is not an account id")
        # Tokens issued before the claim existed lack it: they count as unverified
        # until the next refresh, which reads the account.
        email_verified = payload.get("email_verified", False)
        if type(email_verified) is not bool:
            raise InvalidToken("email_verified is not a boolean")
        roles = payload.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("roles is not a list of strings")
        return AccessClaims(
            subject=payload["sub"],
            email=payload["email"],
            scopes=frozenset(payload["scope"].split()),
            roles=frozenset(roles),
            token_id=payload["jti"],
            session_id=payload["sid"],
            issued_at=payload["iat"],
            expires_at=payload["exp"],
            email_verified=email_verified,
        )


def _is_account_id(subject: str) -> bool:
    try:
        return str(uuid.UUID(subject)) == subject
    except ValueError:
        return False
