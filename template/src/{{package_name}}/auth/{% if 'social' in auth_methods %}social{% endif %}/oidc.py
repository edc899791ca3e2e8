"""An OpenID Connect provider's discovery document and keys, and its ID tokens.

Both are fetched with timeouts and cached: the document for an hour, the keys until
an ID token names a key id they lack (a rotation), then fetched again, at most once
every KEYS_REFRESH_SECONDS so that made-up key ids cannot flood the provider.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2
from authlib.oidc.core import CodeIDToken
from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from .errors import ProviderUnavailable, SocialLoginFailed

DOCUMENT_SECONDS = 3600
KEYS_REFRESH_SECONDS = 30
# Clock skew allowed between the provider and this service.
LEEWAY_SECONDS = 60
MAX_ID_TOKEN_LENGTH = 16384
# Signatures by the provider's published keys only: never "none", never a MAC
# keyed with the client secret (which the service would then have to trust).
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}
)
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"


class OIDCProvider:
    """What the service knows of one OpenID Connect issuer, fetched on demand."""

    def __init__(
        self, http: httpx2.AsyncClient, discovery_url: str, label: str
    ) -> None:
        self._http = http
        self.discovery_url = discovery_url
        self.label = label
        self._document: dict[str, Any] | None = None
        self._document_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = -float("inf")
        self._lock = anyio.Lock()

    async def document(self) -> dict[str, Any]:
        """The discovery document, checked: its issuer is the one of its URL."""
        async with self._lock:
            if self._document is None or (
                time.monotonic() - self._document_at > DOCUMENT_SECONDS
            ):
                document = await self._get_json(self.discovery_url)
                self._check(document)
                self._document, self._document_at = document, time.monotonic()
            return self._document

    async def issuer(self) -> str:
        return str((await self.document())["issuer"])

    async def verify_id_token(
        self, id_token: str, *, client_id: str, nonce: str, access_token: str | None
    ) -> dict[str, Any]:
        """The claims of an ID token this client asked for (OIDC Core §3.1.3.7):
        signature by the issuer's keys, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`
        and `at_hash`. Raises SocialLoginFailed with the reason."""
        if len(id_token) > MAX_ID_TOKEN_LENGTH or id_token.count(".") != 2:
            raise SocialLoginFailed(f"{self.label} sent a malformed ID token.")
        document = await self.document()
        try:
            header = jws.extract_compact(id_token.encode()).headers()
        except (JoseError, ValueError):
            raise SocialLoginFailed(
                f"{self.label} sent a malformed ID token."
            ) from None
        algorithms = ALGORITHMS & set(
            document.get("id_token_signing_alg_values_supported") or ["RS256"]
        )
        if header.get("alg") not in algorithms:
            raise SocialLoginFailed(
                f"{self.label}'s ID token is signed with an algorithm not accepted."
            )
        key_set = await self._key_set(header.get("kid"))
        try:
            token = jwt.decode(id_token, key_set, algorithms=sorted(algorithms))
            claims = CodeIDToken(
                token.claims,
                token.header,
                options={
                    "iss": {"essential": True, "value": document["issuer"]},
                    "aud": {"essential": True, "value": client_id},
                    "sub": {"essential": True},
                    "exp": {"essential": True},
                    "iat": {"essential": True},
                    "nonce": {"essential": True},
                },
                params={
                    "nonce": nonce,
                    "client_id": client_id,
                    "access_token": access_token,
                },
            )
            claims.validate(now=int(time.time()), leeway=LEEWAY_SECONDS)
        except JoseError as error:
            raise SocialLoginFailed(
                f"{self.label}'s ID token was refused ({error.error or 'invalid'})."
            ) from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise SocialLoginFailed(f"{self.label}'s ID token names no subject.")
        return dict(claims)

    async def _key_set(self, kid: object) -> KeySet:
        async with self._lock:
            unknown = self._keys is None or not self._has(self._keys, kid)
            if unknown and time.monotonic() - self._keys_at >= KEYS_REFRESH_SECONDS:
                await self._fetch_keys()
            assert self._keys is not None  # noqa: S101  (fetched above or raised)
            if not self._has(self._keys, kid):
                raise SocialLoginFailed(
                    f"{self.label}'s ID token is signed by a key it does not publish."
                )
            return self._keys

    async def _fetch_keys(self) -> None:
        document = self._document
        assert document is not None  # noqa: S101  (verify_id_token fetched it)
        jwks = await self._get_json(str(document["jwks_uri"]))
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise ProviderUnavailable(f"{self.label} published no keys.")
        signing = [
            k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"
        ]
        usable = []
        for key in signing:
            try:
                usable.append(KeySet.import_key_set({"keys": [key]}).keys[0])
            except (JoseError, ValueError, TypeError):
                continue  # a key type this service does not verify with
        self._keys, self._keys_at = KeySet(usable), time.monotonic()

    @staticmethod
    def _has(keys: KeySet, kid: object) -> bool:
        if kid is not None and not isinstance(kid, str):
            return False
        try:
            keys.get_by_kid(kid)
        except InvalidKeyIdError:
            return False
        return True

    def _check(self, document: dict[str, Any]) -> None:
        issuer = document.get("issuer")
        expected = self.discovery_url.removesuffix(DISCOVERY_SUFFIX)
        if issuer != expected:
            # OIDC Discovery §4.3: an issuer must be the URL its document is at.
            raise ProviderUnavailable(
                f"{self.label}'s discovery document names another issuer."
            )
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(endpoint), str):
                raise ProviderUnavailable(
                    f"{self.label}'s discovery document has no {endpoint}."
                )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (httpx2.HTTPError, ValueError):
            raise ProviderUnavailable(f"{self.label} could not be reached.") from None
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{self.label} answered nonsense.")
        return data
