from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
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


def test_admin_users_created_at_is_utc(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = login(client, make_user("boss@example.com", admin=True))
    created = client.get("/admin/users", headers=bearer(token)).json()[0]["created_at"]
    assert datetime.fromisoformat(created).utcoffset() == timedelta(0), created


def admin_of_itself(client: TestClient, email: str) -> tuple[dict[str, str], str]:
    headers = bearer(login(client, email))
    return headers, client.get("/users/me", headers=headers).json()["id"]


@pytest.mark.parametrize(
    "change",
    [
        {"method": "PATCH", "json": {"roles": ["user"]}},
        {"method": "PATCH", "json": {"is_active": False}},
        {"method": "DELETE"},
    ],
)
def test_admin_last_admin_cannot_remove_itself(
    client: TestClient, make_user: Callable[..., str], change: dict[str, Any]
) -> None:
    headers, admin_id = admin_of_itself(
        client, make_user("boss@example.com", admin=True)
    )
    method = change.pop("method")
    response = client.request(
        method, f"/admin/users/{admin_id}", headers=headers, **change
    )
    assert response.status_code == 409, response.text
    assert "last administrator" in response.json()["detail"]
    me = client.get("/users/me", headers=headers)
    assert me.status_code == 200, me.text  # nothing changed, still logged in
    assert "admin" in me.json()["roles"]


def test_admin_may_step_down_when_another_admin_remains(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    make_user("second@example.com", admin=True)
    headers, admin_id = admin_of_itself(
        client, make_user("boss@example.com", admin=True)
    )
    response = client.patch(
        f"/admin/users/{admin_id}", json={"roles": ["user"]}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["user"]


def test_admin_two_admins_demoting_each_other_at_once_leave_one(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    """Separate connections, one guarded statement each: exactly one demotion."""
    first, first_id = admin_of_itself(client, make_user("a@example.com", admin=True))
    second, second_id = admin_of_itself(client, make_user("b@example.com", admin=True))
    jobs = [(first, second_id), (second, first_id)] * 4

    def demote(job: tuple[dict[str, str], str]) -> int:
        headers, target = job
        body = {"roles": ["user"]}
        return client.patch(
            f"/admin/users/{target}", json=body, headers=headers
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(demote, jobs))
    assert statuses.count(200) >= 1, statuses
    assert set(statuses) <= {200, 401, 409}, statuses
    admins = [
        user
        for headers in (first, second)
        for user in [client.get("/users/me", headers=headers)]
        if user.status_code == 200 and "admin" in user.json()["roles"]
    ]
    assert len(admins) == 1, statuses
