"""Social login end to end: a rendered service signs a user in with a real OpenID
Connect provider (the `oidc-provider` npm package) on loopback.

Both run as real server processes. An HTTP client plays the browser: it follows
the real redirects, signs in and consents at the provider, comes back to the
callback with the state cookie, and ends with the service's token pair.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .helpers import render
from .oidc_provider import log_in_at_provider, provider_installed, running_provider
from .test_rendered_projects import free_port, served, sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

SLUG = "my-api"
CLIENT_ID = "my-api"
# A throwaway client of a provider that lives for one test.
CLIENT_SECRET = "client-secret-of-the-end-to-end-test-0123456789"  # noqa: S105


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not provider_installed():
        pytest.fail("no test provider: run npm ci --prefix tests/oidc_provider")
    project = render(
        tmp_path_factory.mktemp("social") / "project",
        {"auth_methods": ["jwt", "social"], "social_providers": ["oidc"]},
    )
    sync(project)
    return project


def sign_in(app: str, login: str, other: str) -> dict[str, Any]:
    """A fresh browser signs in as `login`; the token pair the callback answers.

    `other` is a second process of the service, on the same database.
    """
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=30) as browser:
        start = browser.get(f"{app}/auth/oidc/login")
        assert start.status_code == 303, start.text
        callback = log_in_at_provider(browser, start.headers["location"], login)
        assert callback.startswith(f"{app}/auth/oidc/callback?"), callback
        assert "iss=" in callback  # RFC 9207: this provider sends it
        response = browser.get(callback)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        pair: dict[str, Any] = response.json()
        # The state was spent: the same callback again, with its cookie, is
        # refused by either process.
        for process in (app, other):
            replay = browser.get(callback.replace(app, process))
            assert replay.status_code == 400, replay.text
    return pair


def test_social_login_with_a_real_openid_connect_provider(
    project: Path, tmp_path: Path
) -> None:
    port = free_port()
    app = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with running_provider(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=f"{app}/auth/oidc/callback",
        log_path=tmp_path / "provider.log",
    ) as issuer:
        settings = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
            "PUBLIC_BASE_URL": app,
            "OIDC_DISCOVERY_URL": f"{issuer}/.well-known/openid-configuration",
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "NO_PROXY": "127.0.0.1,localhost",
        }
        with (
            served(project, SLUG, tmp_path / "app.log", env=settings, port=port),
            served(project, SLUG, tmp_path / "other.log", env=settings) as other,
        ):
            first = sign_in(app, "ada", other)
            with httpx.Client(trust_env=False) as api:
                headers = {"Authorization": f"Bearer {first['access_token']}"}
                me = api.get(f"{app}/users/me", headers=headers)
                assert me.status_code == 200, me.text
                assert me.json()["email"] == "ada@example.test"
                identities = api.get(f"{app}/users/me/identities", headers=headers)
                assert [i["provider"] for i in identities.json()] == ["oidc"]
            # Another browser, the same identity: the same account.
            second = sign_in(app, "ada", other)
            with httpx.Client(trust_env=False) as api:
                headers = {"Authorization": f"Bearer {second['access_token']}"}
                again = api.get(f"{app}/users/me", headers=headers)
            assert again.json()["id"] == me.json()["id"]
        log = (tmp_path / "app.log").read_text()
        provider_log = (tmp_path / "provider.log").read_text()
    # Neither the provider's tokens nor ours reach the service's log.
    assert first["access_token"] not in log
    assert first["refresh_token"] not in log
    assert "code=" not in log
    assert "client_secret_basic" in provider_log
    print(f"end-to-end social login: {time.monotonic() - started:.1f} s")
