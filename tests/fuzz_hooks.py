"""Schemathesis hooks for tests/test_fuzz.py: the fuzzer's credentials, and the
operations that would revoke them.

Schemathesis loads this file in its own process; test_fuzz.py hands it the
credentials in the environment, never on a command line.

The fuzzer runs as one administrator, with a real access token, a real API key and
Basic credentials, taken in turn wherever an operation accepts them. A few
operations would end those very credentials, and every later case would then be
an uninteresting 401. They still run, on something else:
- `POST /auth/logout` ends the session of its access token: it gets a session of
  its own, logged in for that one call.
- `POST /users/me/password` and `POST /auth/logout-all` end every session of the
  account, and `DELETE /users/me/sessions/{session_id}` one of them (its id read
  from `GET /users/me/sessions`): they run as a spare account, logged in for that
  one call.
- the administrators' routes that demote, disable, delete or log out an account
  (`/admin/users/{user_id}...`): the fuzzer's own id (stateful testing reads it
  from `GET /users/me` or `GET /admin/users`) is swapped for a fresh account's.
- `DELETE /auth/api-keys/{key_id}`: the fuzzer's own key id (read from
  `GET /auth/api-keys`) is swapped for a fresh key's.
`DELETE /users/me/identities/{provider}` needs no care: the fuzzer's account has a
password, and unlinking ends no session.

Helper requests claim an `X-Forwarded-For` address of their own (the served
process trusts loopback as a proxy), so that they never spend the fuzzer's
client-wide allowance of registrations.
"""

from __future__ import annotations

import base64
import itertools
import os
import secrets
from typing import Any

import httpx
import schemathesis

BASE_URL = os.environ["FUZZ_BASE_URL"]
TOKEN = os.environ["FUZZ_TOKEN"]
API_KEY = os.environ["FUZZ_API_KEY"]
EMAIL = os.environ["FUZZ_EMAIL"]
PASSWORD = os.environ["FUZZ_PASSWORD"]
USER_ID = os.environ["FUZZ_USER_ID"]
KEY_ID = os.environ["FUZZ_KEY_ID"]

BASIC = "Basic " + base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
# Only ever the loopback server the test started.
_client = httpx.Client(base_url=BASE_URL, timeout=30, trust_env=False)
_turns = itertools.count()
_addresses = itertools.count(1)
_spare: dict[str, str] = {}
# Operations that would end the fuzzer's own sessions: a spare account runs them.
SPARE_OPERATIONS = {
    "POST /users/me/password",
    "POST /auth/logout-all",
    "DELETE /users/me/sessions/{session_id}",
}


def _helper(method: str, path: str, **kwargs: Any) -> httpx.Response:
    n = next(_addresses)
    headers = {"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}
    headers.update(kwargs.pop("headers", {}))
    return _client.request(method, path, headers=headers, **kwargs)


def _login(email: str) -> str | None:
    response = _helper(
        "POST", "/auth/login", json={"email": email, "password": PASSWORD}
    )
    return str(response.json()["access_token"]) if response.status_code == 200 else None


def _register() -> tuple[str, str]:
    """A new account: its email and id."""
    email = f"spare-{secrets.token_hex(6)}@example.com"
    response = _helper(
        "POST", "/auth/register", json={"email": email, "password": PASSWORD}
    )
    # 202 and no body of the account with email verification: ask the account.
    assert response.status_code in (201, 202), response.text
    token = _login(email)
    me = _helper("GET", "/users/me", headers={"Authorization": f"Bearer {token}"})
    return email, str(me.json()["id"])


def _spare_token() -> str:
    """A fresh session of the spare account; a new spare if the last one is gone
    (deleted, disabled or its password changed by the fuzzer)."""
    token = _login(_spare["email"]) if _spare else None
    if token is None:
        _spare["email"], _ = _register()
        token = _login(_spare["email"])
    assert token is not None
    return token


def _schemes(case: schemathesis.Case) -> set[str]:
    security = case.operation.definition.raw.get("security", [])
    return {name for requirement in security for name in requirement}


@schemathesis.auth(refresh_interval=None)
class FuzzerCredentials:
    """Each case that needs a caller gets the fuzzer's credentials, taking the
    schemes the operation accepts in turn."""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> Any:
        operation = f"{case.method.upper()} {case.operation.path}"
        if operation == "POST /auth/logout":
            return {"Authorization": f"Bearer {_login(EMAIL)}"}
        if operation in SPARE_OPERATIONS:
            return {"Authorization": f"Bearer {_spare_token()}"}
        schemes = _schemes(case)
        choices = []
        if schemes & {"JWTBearer", "PasswordBearer"}:
            choices.append({"Authorization": f"Bearer {TOKEN}"})
        if "APIKey" in schemes:
            choices.append({"X-API-Key": API_KEY})
        if "HTTPBasic" in schemes:
            choices.append({"Authorization": BASIC})
        return choices[next(_turns) % len(choices)] if choices else None

    def set(
        self, case: schemathesis.Case, data: Any, ctx: schemathesis.AuthContext
    ) -> None:
        case.headers = {**(case.headers or {}), **data}


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case, kwargs: Any
) -> None:
    parameters = case.path_parameters or {}
    if str(parameters.get("user_id")) == USER_ID:
        parameters["user_id"] = _register()[1]
    if str(parameters.get("key_id")) == KEY_ID:
        response = _client.post(
            "/auth/api-keys",
            json={"name": "spare"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 201, response.text
        parameters["key_id"] = response.json()["id"]
