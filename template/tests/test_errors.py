"""Answers of the error handlers that FastAPI and Starlette would give otherwise.

Both were found by fuzzing the served OpenAPI document: each answer was one the
document did not declare.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from .helpers import authenticate

ACCOUNT = "/admin/users/00000000-0000-4000-8000-000000000000"


def test_errors_body_not_utf8_is_422_like_malformed_json(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    headers = authenticate(client, make_user("boss@example.com", admin=True))
    headers["Content-Type"] = "application/json"
    for body in (b'{"is_active": tru', b'{"is_active": "\xff\xfe"}'):
        response = client.patch(ACCOUNT, content=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["type"] == "json_invalid"


def test_errors_405_allows_every_method_of_the_path(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    """Starlette names the methods of the path's first route only; FastAPI makes
    a route per method."""
    headers = authenticate(client, make_user("boss@example.com", admin=True))
    response = client.put(ACCOUNT, json={}, headers=headers)
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == "DELETE, PATCH"
    document = client.get("/openapi.json").json()
    assert set(document["paths"]["/admin/users/{user_id}"]) == {"delete", "patch"}
