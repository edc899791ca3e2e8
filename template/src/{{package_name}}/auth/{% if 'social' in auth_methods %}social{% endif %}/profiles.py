"""Who signed in: the identity and email a provider vouches for.

OpenID Connect providers say it in the ID token (and UserInfo, whose `sub` must be
the ID token's). GitHub lists the account's addresses with a `verified` flag, and
the primary one is used only when verified. Facebook's Graph API returns an address
only once the user has confirmed it, and none for accounts made with a phone number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2

from .errors import ProviderUnavailable, SocialLoginFailed
from .providers import FACEBOOK_GRAPH, Provider

GITHUB_API = "https://api.github.com"
MAX_EMAIL_LENGTH = 320


@dataclass(frozen=True)
class SocialProfile:
    """An identity at a provider: (issuer, subject) names it for good."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None


def _email(value: object) -> str | None:
    if isinstance(value, str) and "@" in value and len(value) <= MAX_EMAIL_LENGTH:
        return value.strip().lower()
    return None


def from_claims(issuer: str, claims: dict[str, Any]) -> SocialProfile:
    """The profile of an OpenID Connect sign-in (ID token and UserInfo claims)."""
    return SocialProfile(
        issuer,
        str(claims["sub"]),
        _email(claims.get("email")),
        # Only the JSON true counts; some providers send the string "true".
        claims.get("email_verified") is True or claims.get("email_verified") == "true",
        claims.get("name") if isinstance(claims.get("name"), str) else None,
    )


async def get_json(
    http: httpx2.AsyncClient, provider: Provider, url: str, token: str
) -> Any:
    """The JSON at `url`, read with the provider's access token."""
    try:
        response = await http.get(
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        response.raise_for_status()
        return response.json()
    except (httpx2.HTTPError, ValueError):
        raise ProviderUnavailable(
            f"{provider.label} did not give the account's profile."
        ) from None


async def github_profile(
    http: httpx2.AsyncClient, provider: Provider, token: str
) -> SocialProfile:
    user = await get_json(http, provider, f"{GITHUB_API}/user", token)
    emails = await get_json(http, provider, f"{GITHUB_API}/user/emails", token)
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise ProviderUnavailable("GitHub answered nonsense.")
    primary = next(
        (
            e
            for e in (emails if isinstance(emails, list) else [])
            if isinstance(e, dict) and e.get("primary") is True
        ),
        None,
    )
    if primary is None or primary.get("verified") is not True:
        raise SocialLoginFailed(
            "Your GitHub account has no verified primary email address: verify it"
            " at https://github.com/settings/emails and sign in again."
        )
    assert provider.issuer is not None  # noqa: S101  (a fixed issuer)
    name = user.get("name") or user.get("login")
    return SocialProfile(
        provider.issuer,
        str(user["id"]),
        _email(primary.get("email")),
        True,
        name if isinstance(name, str) else None,
    )


async def facebook_profile(
    http: httpx2.AsyncClient, provider: Provider, token: str
) -> SocialProfile:
    user = await get_json(
        http, provider, f"{FACEBOOK_GRAPH}/me?fields=id,name,email", token
    )
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise ProviderUnavailable("Facebook answered nonsense.")
    email = _email(user.get("email"))
    assert provider.issuer is not None  # noqa: S101  (a fixed issuer)
    name = user.get("name")
    return SocialProfile(
        provider.issuer,
        user["id"],
        email,
        email is not None,
        name if isinstance(name, str) else None,
    )
