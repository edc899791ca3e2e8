"""The social login providers, as configured: endpoints, client and linking policy.

Google and the generic `oidc` issuer are OpenID Connect providers: their endpoints
and keys come from the discovery document. GitHub and Facebook are plain OAuth2: the
account comes from their APIs. Each has a fixed issuer that names its identities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from ...config import SOCIAL_PROVIDERS, Settings

log = logging.getLogger(__name__)

Kind = Literal["oidc", "github", "facebook"]
FACEBOOK_GRAPH = "https://graph.facebook.com/v21.0"


@dataclass(frozen=True)
class Provider:
    """One provider the service signs users in with."""

    name: str  # the {provider} of the routes
    label: str
    kind: Kind
    client_id: str
    client_secret: SecretStr  # its repr is "**********"
    scope: str
    link_by_verified_email: bool
    # OpenID Connect: the discovery document gives issuer, endpoints and keys.
    discovery_url: str | None = None
    # Plain OAuth2: fixed issuer and endpoints.
    issuer: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None


def _catalogue(name: str, settings: Settings) -> Provider | None:
    client = settings.social_client(name)
    if client is None:
        return None
    client_id, secret = client
    link = bool(getattr(settings, f"{name}_link_by_verified_email", False))
    if name == "google":
        return Provider(
            name,
            "Google",
            "oidc",
            client_id,
            secret,
            "openid email profile",
            link,
            discovery_url="https://accounts.google.com/.well-known/openid-configuration",
        )
    if name == "github":
        return Provider(
            name,
            "GitHub",
            "github",
            client_id,
            secret,
            "read:user user:email",
            link,
            issuer="https://github.com",
            authorize_url="https://github.com/login/oauth/authorize",
            token_url="https://github.com/login/oauth/access_token",  # noqa: S106
        )
    if name == "facebook":
        return Provider(
            name,
            "Facebook",
            "facebook",
            client_id,
            secret,
            "public_profile email",
            link,
            issuer="https://www.facebook.com",
            authorize_url="https://www.facebook.com/v21.0/dialog/oauth",
            token_url=f"{FACEBOOK_GRAPH}/oauth/access_token",
        )
    return Provider(
        name,
        str(getattr(settings, "oidc_name", "OpenID Connect")),
        "oidc",
        client_id,
        secret,
        "openid email profile",
        link,
        discovery_url=getattr(settings, "oidc_discovery_url", None),
    )


def configured_providers(settings: Settings) -> dict[str, Provider]:
    """The providers with a client; one log line for each that is off."""
    providers = {}
    for name in SOCIAL_PROVIDERS:
        provider = _catalogue(name, settings)
        if provider is None:
            log.warning(
                "Social login with %s is off: set %s_CLIENT_ID and %s_CLIENT_SECRET"
                "%s in .env",
                name,
                name.upper(),
                name.upper(),
                " and OIDC_DISCOVERY_URL" if name == "oidc" else "",
            )
            continue
        providers[name] = provider
    return providers
