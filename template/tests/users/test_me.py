from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from ..helpers import bearer, login


def test_me_returns_the_caller_from_the_token(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = login(client, make_user("Me@Example.com"))
    response = client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "me@example.com"
    assert body["roles"] == ["user"]
    assert body["scopes"] == ["profile"]
    assert set(body) == {"id", "email", "roles", "scopes"}
