"""The authorization code flow with a provider, from the redirect to the profile.

Authlib's httpx client builds the authorization request (PKCE S256, and a nonce
for OpenID Connect) and exchanges the code; the flow's secrets live in the signed
state cookie of `state.py`, not in a server-side session. Redirect URIs are built
from PUBLIC_BASE_URL, never from the request's Host or X-Forwarded-* headers.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx2
from authlib.integrations.base_client import OAuthError as ClientOAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ...config import Settings
from .errors import ProviderUnavailable, SocialLoginFailed
from .oidc import OIDCProvider
from .profiles import (
    SocialProfile,
    facebook_profile,
    from_claims,
    get_json,
    github_profile,
)
from .providers import Provider, configured_providers
from .state import FlowState, StateCookies, spend

MAX_CODE_LENGTH = 2048
# What a provider's `error` may be echoed as: RFC 6749 error codes look like this.
ERROR_CODE = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True)
class Endpoints:
    """Where to send the user and the code, and who answers there."""

    authorize: str
    token: str
    issuer: str  # names the provider's identities
    auth_method: str  # how the client authenticates at the token endpoint
    # OpenID Connect: the whole discovery document; empty for plain OAuth2.
    document: dict[str, Any] = field(default_factory=dict)


class _SharedTransport(httpx2.AsyncBaseTransport):
    """One connection pool for every client; closing a client leaves it open."""

    def __init__(self, transport: httpx2.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        pass  # the pool is closed by SocialLogin.close


class SocialLogin:
    """Starts sign-ins with the configured providers and finishes them."""

    def __init__(
        self,
        providers: dict[str, Provider],
        *,
        public_base_url: str,
        cookies: StateCookies,
        timeout_seconds: float,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.providers = providers
        self.public_base_url = public_base_url
        self.cookies = cookies
        self._pool = transport or httpx2.AsyncHTTPTransport(retries=1)
        self._shared = _SharedTransport(self._pool)
        self._timeout = httpx2.Timeout(timeout_seconds)
        self.http = httpx2.AsyncClient(transport=self._shared, timeout=self._timeout)
        self._oidc = {
            name: OIDCProvider(self.http, provider.discovery_url, provider.label)
            for name, provider in providers.items()
            if provider.kind == "oidc" and provider.discovery_url
        }

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx2.AsyncBaseTransport | None = None
    ) -> SocialLogin:
        return cls(
            configured_providers(settings),
            public_base_url=settings.public_base_url,
            cookies=StateCookies.from_settings(settings),
            timeout_seconds=settings.social_timeout_seconds,
            transport=transport,
        )

    async def close(self) -> None:
        await self.http.aclose()
        await self._pool.aclose()

    def provider(self, name: str) -> Provider:
        provider = self.providers.get(name)
        if provider is None:
            raise SocialLoginFailed(f"No social login provider named {name!r}.", 404)
        return provider

    @staticmethod
    def callback_path(name: str) -> str:
        return f"/auth/{name}/callback"

    def redirect_uri(self, name: str) -> str:
        """What is registered with the provider: from PUBLIC_BASE_URL only."""
        return self.public_base_url + self.callback_path(name)

    async def start(
        self,
        response: Response,
        name: str,
        *,
        link_account: uuid.UUID | None = None,
        next_path: str | None = None,
    ) -> str:
        """The provider's authorization URL; the flow's cookie goes on `response`."""
        provider = self.provider(name)
        flow = FlowState.new(name, link_account=link_account, next_path=next_path)
        endpoints = await self._endpoints(provider)
        extra = {"nonce": flow.nonce} if provider.kind == "oidc" else {}
        async with self._client(provider, endpoints) as client:
            url, _ = client.create_authorization_url(
                endpoints.authorize,
                state=flow.state,
                code_verifier=flow.code_verifier,
                **extra,
            )
        self.cookies.store(response, flow, self.callback_path(name))
        return str(url)

    async def finish(
        self, request: Request, db: AsyncSession, name: str
    ) -> tuple[FlowState, SocialProfile]:
        """Check the callback, exchange its code, and say who signed in."""
        provider = self.provider(name)
        params = request.query_params
        flow = self.cookies.load(request, name, params.get("state"))
        await spend(db, flow.state)  # before anything else: a replay fails here
        error = params.get("error")
        if error is not None:
            reason = error if ERROR_CODE.fullmatch(error) else "error"
            raise SocialLoginFailed(
                f"{provider.label} did not sign you in ({reason}): start again if you"
                " want to."
            )
        endpoints = await self._endpoints(provider)
        self._check_issuer(provider, params.get("iss"), endpoints)
        code = params.get("code")
        if not code or len(code) > MAX_CODE_LENGTH:
            raise SocialLoginFailed(f"{provider.label} sent no authorization code.")
        token = await self._exchange(provider, endpoints, code, flow)
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise SocialLoginFailed(f"{provider.label} issued no access token.")
        if provider.kind == "github":
            return flow, await github_profile(self.http, provider, access_token)
        if provider.kind == "facebook":
            return flow, await facebook_profile(self.http, provider, access_token)
        return flow, await self._oidc_profile(provider, endpoints, token, flow)

    @staticmethod
    def _check_issuer(
        provider: Provider, sent: str | None, endpoints: Endpoints
    ) -> None:
        # RFC 9207: with several providers, a response from one must not be taken
        # for another's (mix-up). Required where the provider says it sends it.
        if sent is not None and sent != endpoints.issuer:
            raise SocialLoginFailed(
                f"The response did not come from {provider.label} (iss)."
            )
        promised = endpoints.document.get(
            "authorization_response_iss_parameter_supported"
        )
        if sent is None and promised is True:
            raise SocialLoginFailed(
                f"{provider.label}'s response lacks its issuer (iss)."
            )

    async def _oidc_profile(
        self,
        provider: Provider,
        endpoints: Endpoints,
        token: dict[str, Any],
        flow: FlowState,
    ) -> SocialProfile:
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SocialLoginFailed(f"{provider.label} issued no ID token.")
        claims = await self._oidc[provider.name].verify_id_token(
            id_token,
            client_id=provider.client_id,
            nonce=flow.nonce,
            access_token=token.get("access_token"),
        )
        userinfo_url = endpoints.document.get("userinfo_endpoint")
        if "email" not in claims and isinstance(userinfo_url, str):
            userinfo = await get_json(
                self.http, provider, userinfo_url, token["access_token"]
            )
            if not isinstance(userinfo, dict) or userinfo.get("sub") != claims["sub"]:
                # OIDC Core §5.3.2: another user's claims must never be used.
                raise SocialLoginFailed(
                    f"{provider.label}'s UserInfo is about another user."
                )
            claims = {**userinfo, **claims}
        return from_claims(endpoints.issuer, claims)

    async def _exchange(
        self, provider: Provider, endpoints: Endpoints, code: str, flow: FlowState
    ) -> dict[str, Any]:
        try:
            async with self._client(provider, endpoints) as client:
                token = await client.fetch_token(
                    endpoints.token,
                    code=code,
                    code_verifier=flow.code_verifier,
                    headers={"Accept": "application/json"},
                )
        except ClientOAuthError:
            # The provider refused the code (used, expired, or not for us).
            raise SocialLoginFailed(
                f"{provider.label} refused the sign-in's code: start again."
            ) from None
        except (httpx2.HTTPError, ValueError, KeyError):
            raise ProviderUnavailable(
                f"{provider.label} could not be reached."
            ) from None
        return dict(token)

    async def _endpoints(self, provider: Provider) -> Endpoints:
        """Where the provider's endpoints are: fixed, or from its discovery document
        (fetched once an hour, not per request)."""
        if provider.kind != "oidc":
            # Plain OAuth2: all three are fixed (providers.py).
            assert provider.authorize_url is not None  # noqa: S101
            assert provider.token_url is not None  # noqa: S101
            assert provider.issuer is not None  # noqa: S101
            return Endpoints(
                provider.authorize_url,
                provider.token_url,
                provider.issuer,
                "client_secret_post",
            )
        document = await self._oidc[provider.name].document()
        supported = document.get("token_endpoint_auth_methods_supported") or [
            "client_secret_basic"  # the default of OpenID Connect Discovery
        ]
        basic = "client_secret_basic" in supported
        return Endpoints(
            str(document["authorization_endpoint"]),
            str(document["token_endpoint"]),
            str(document["issuer"]),
            "client_secret_basic" if basic else "client_secret_post",
            document,
        )

    def _client(self, provider: Provider, endpoints: Endpoints) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret.get_secret_value(),
            scope=provider.scope,
            redirect_uri=self.redirect_uri(provider.name),
            code_challenge_method="S256",
            token_endpoint_auth_method=endpoints.auth_method,
            transport=self._shared,
            timeout=self._timeout,
        )
