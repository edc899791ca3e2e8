"""RFC 6750 on a protected route: challenges, status codes, nothing echoed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from ..helpers import bearer, login, sign, valid_claims


def assert_invalid_token(
    response_status: int, headers: dict[str, str], body: str
) -> None:
    assert response_status == 401, body
    challenge = headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="')
    assert 'error="invalid_token"' in challenge


def test_bearer_missing_gets_bare_challenge(client: TestClient) -> None:
    response = client.get("/users/me")
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="')
    assert "error=" not in response.headers["WWW-Authenticate"]
    assert response.json() == {"detail": "Not authenticated"}


def test_bearer_valid_token_accepted(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = login(client, make_user())
    response = client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(
    client: TestClient, make_user: Callable[..., str], scheme: str
) -> None:
    token = login(client, make_user())
    response = client.get("/users/me", headers={"Authorization": f"{scheme} {token}"})
    assert response.status_code == 200, response.text


def test_bearer_forged_token_refused_and_not_echoed(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = login(client, make_user())
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = client.get("/users/me", headers=bearer(forged))
    assert_invalid_token(response.status_code, dict(response.headers), response.text)
    assert response.json() == {"detail": "Invalid or expired token"}
    assert forged not in response.text
    assert forged not in str(response.headers)


def test_bearer_expired_token_refused(client: TestClient) -> None:
    tokens = client.app.state.tokens  # type: ignore[attr-defined]
    now = int(time.time())
    expired = sign(
        tokens, valid_claims(tokens, iat=now - 900, nbf=now - 900, exp=now - 120)
    )
    response = client.get("/users/me", headers=bearer(expired))
    assert_invalid_token(response.status_code, dict(response.headers), response.text)


@pytest.mark.parametrize("garbage", ["x", "a.b.c", "\u00e9t\u00e9", "e" * 20000])
def test_bearer_garbage_never_500(client: TestClient, garbage: str) -> None:
    headers = [(b"Authorization", f"Bearer {garbage}".encode())]
    response = client.get("/users/me", headers=headers)
    assert_invalid_token(response.status_code, dict(response.headers), response.text)


def test_bearer_other_scheme_is_not_credentials(client: TestClient) -> None:
    response = client.get("/users/me", headers={"Authorization": "Basic dTpw"})
    assert response.status_code == 401, response.text
    assert "error=" not in response.headers["WWW-Authenticate"]


def test_bearer_token_in_query_string_refused(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = login(client, make_user())
    response = client.get("/users/me", params={"access_token": token})
    assert response.status_code == 400, response.text
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    assert token not in response.text


def test_bearer_two_authorization_headers_refused(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = login(client, make_user())
    response = client.get(
        "/users/me",
        headers=[("Authorization", f"Bearer {token}"), ("Authorization", "Bearer x")],
    )
    assert response.status_code == 400, response.text


def test_bearer_missing_scope_is_403_with_scope(client: TestClient) -> None:
    tokens = client.app.state.tokens  # type: ignore[attr-defined]
    token = sign(tokens, valid_claims(tokens, scope=""))
    response = client.get("/users/me", headers=bearer(token))
    assert response.status_code == 403, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="profile"' in challenge


def test_bearer_token_verified_once_per_request(
    client: TestClient, make_user: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = login(client, make_user())
    tokens = client.app.state.tokens  # type: ignore[attr-defined]
    verify = tokens.decode_jwt
    calls: list[str] = []

    def counted(value: str) -> object:
        calls.append(value)
        return verify(value)

    monkeypatch.setattr(tokens, "decode_jwt", counted)
    response = client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert calls == [token]
