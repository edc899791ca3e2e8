from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from ..helpers import bearer, login, sign, valid_claims


def test_admin_users_refused_to_a_user(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = login(client, make_user())
    response = client.get("/admin/users", headers=bearer(token))
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Not enough permissions"}


def test_admin_users_listed_for_an_admin(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    make_user("someone@example.com")
    token = login(client, make_user("boss@example.com", admin=True))
    response = client.get("/admin/users", headers=bearer(token))
    assert response.status_code == 200, response.text
    users = response.json()
    assert [user["email"] for user in users] == [
        "someone@example.com",
        "boss@example.com",
    ]
    assert all("password_hash" not in user for user in users)
    assert users[1]["roles"] == ["user", "admin"]


def test_admin_users_paginated(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    make_user("a@example.com")
    token = login(client, make_user("boss@example.com", admin=True))
    response = client.get("/admin/users?offset=1&limit=1", headers=bearer(token))
    assert [user["email"] for user in response.json()] == ["boss@example.com"]
    response = client.get("/admin/users?limit=1000", headers=bearer(token))
    assert response.status_code == 422


def test_admin_role_without_admin_scope_refused(client: TestClient) -> None:
    tokens = client.app.state.tokens  # type: ignore[attr-defined]
    claims = valid_claims(tokens, roles=["user", "admin"], scope="profile")
    response = client.get("/admin/users", headers=bearer(sign(tokens, claims)))
    assert response.status_code == 403, response.text
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_admin_no_token_is_401(client: TestClient) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 401, response.text
