"""Schemathesis against a served all-methods project: no 5xx, and every answer is
one its OpenAPI document declares, with the declared content type and schema.

The fuzzer is an administrator with a real access token, API key and Basic
credentials (tests/fuzz_hooks.py); the operations that would revoke them run on
other credentials or objects, so that the run keeps its own to the end, which the
test checks afterwards.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .helpers import Answers, project_env, render
from .test_rendered_projects import call, served, sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

SLUG = "my-api"
EMAIL = "fuzzer@example.com"
PASSWORD = "analytical-engine-1843"  # noqa: S105  (a test account's)
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
ALL_METHODS = ["jwt", "oauth2_password", "api_key", "http_basic", "social"]
# Cases per operation and phase: about 1,400 cases in all (the stateful phase
# included), some 40 s of fuzzing on two cores.
MAX_EXAMPLES = 40
SEED = int(os.environ.get("FUZZ_SEED", "20261202"))
CONFIG = """\
hooks = "{hooks}"
seed = {seed}
# One worker: the credentials taken in turn, and so the run, stay reproducible.
workers = 1

[generation]
max-examples = {max_examples}
# Nothing written beside the tests: every run starts from the seed alone.
database = "none"

[checks]
# Schema-valid is not acceptable for an authentication service: a well-formed
# refresh token, one-time code or password that is wrong must be refused (400,
# 401, 422), and this check would call each refusal a failure.
positive_data_acceptance.enabled = false

[reports]
directory = "{reports}"
junit.enabled = true
"""


def create_admin(project: Path, env: dict[str, str]) -> None:
    """The project's own command, the password on standard input."""
    result = subprocess.run(
        ["uv", "run", SLUG, "create-user", EMAIL, "--admin"],
        cwd=project,
        env={**project_env(), **env},
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def credentials(base: str) -> dict[str, str]:
    """A real access token and API key of the administrator, through the API."""
    account = {"email": EMAIL, "password": PASSWORD}
    status, pair, _ = call("POST", f"{base}/auth/login", account)
    assert status == 200, pair
    token = pair["access_token"]
    status, me, _ = call("GET", f"{base}/users/me", token=token)
    assert status == 200, me
    status, key, _ = call(
        "POST", f"{base}/auth/api-keys", {"name": "fuzzer"}, token=token
    )
    assert status == 201, key
    return {
        "FUZZ_BASE_URL": base,
        "FUZZ_TOKEN": token,
        "FUZZ_API_KEY": key["key"],
        "FUZZ_EMAIL": EMAIL,
        "FUZZ_PASSWORD": PASSWORD,
        "FUZZ_USER_ID": me["id"],
        "FUZZ_KEY_ID": key["id"],
    }


def still_valid(base: str, fuzzer: dict[str, str]) -> dict[str, int]:
    """The status of GET /users/me with each of the fuzzer's credentials."""
    basic = base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
    sent: dict[str, dict[str, Any]] = {
        "token": {"token": fuzzer["FUZZ_TOKEN"]},
        "api key": {"headers": {"X-API-Key": fuzzer["FUZZ_API_KEY"]}},
        "basic": {"headers": {"Authorization": f"Basic {basic}"}},
    }
    return {
        name: call("GET", f"{base}/users/me", **kwargs)[0]
        for name, kwargs in sent.items()
    }


def fuzz(base: str, fuzzer: dict[str, str], folder: Path) -> str:
    """Run schemathesis against the served document; its report, or a failure."""
    config = folder / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            hooks=HOOKS, max_examples=MAX_EXAMPLES, reports=folder, seed=SEED
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config)),
            *("run", "--no-color", f"{base}/openapi.json"),
        ],
        cwd=folder,
        env={**project_env(), **fuzzer},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-20000:]
    return result.stdout


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(
            {"auth_methods": ALL_METHODS, "social_providers": ["oidc"]},
            id="all-methods-bearer",
        ),
    ],
)
def test_fuzz_finds_no_server_error_and_no_undeclared_answer(
    tmp_path: Path, answers: Answers
) -> None:
    project = render(tmp_path / "project", answers)
    sync(project)
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        # The fuzzer's helpers (fresh sessions and accounts) claim addresses of
        # their own; the fuzzer's own requests come from loopback, unforwarded.
        "TRUSTED_PROXIES": '["127.0.0.1"]',
        # The fuzzer's random logins and Basic credentials all fail from one
        # client: at the default 20 the client, and with it the fuzzer's own
        # Basic credentials, would be refused (429) for the rest of the run.
        # Registrations stay limited: their 429 is fuzzed like any answer.
        "LOGIN_MAX_FAILURES_PER_CLIENT": "1000000",
        # Schemathesis' ignored_auth check sends the fuzzer's Basic credentials
        # with a wrong password: at the default 5 the account would be locked
        # from this client, its real Basic credentials with it.
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": "1000000",
        "LOGIN_ACCOUNT_CEILING": "1000000",
    }
    create_admin(project, env)
    with served(project, SLUG, tmp_path / "serve.log", env=env) as base:
        fuzzer = credentials(base)
        report = fuzz(base, fuzzer, tmp_path)
        statuses = still_valid(base, fuzzer)
    generated = re.search(r"(\d+) generated", report)
    assert generated, report
    print(f"schemathesis: {generated.group(1)} test cases generated")
    assert int(generated.group(1)) > 500, report
    # The run kept its credentials: the handling in fuzz_hooks.py works.
    assert statuses == {"token": 200, "api key": 200, "basic": 200}, statuses
