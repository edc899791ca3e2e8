"""Render the template from the working tree and run tools in the rendered project."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import copier
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

Answers = Mapping[str, Any]

# database=postgresql with every method: the upserts and RETURNING statements of
# every feature run on PostgreSQL.
EVERY_METHOD = ["jwt", "oauth2_password", "api_key", "http_basic", "social"]
# The answer sets whose projects CI also checks on real servers (tests/test_servers.py,
# tests/test_replicas.py): each store alone, and both, with every method.
POSTGRESQL_ANSWERS: Answers = {"database": "postgresql", "auth_methods": EVERY_METHOD}
REDIS_ANSWERS: Answers = {
    "token_store": "redis",
    "auth_methods": EVERY_METHOD,
    "token_transport": "cookie",
}
SHARED_ANSWERS: Answers = {
    "database": "postgresql",
    "token_store": "redis",
    "auth_methods": EVERY_METHOD,
}

# The answer sets CI renders and checks: every method alone and together, every
# signing algorithm, and the optional module turned off.
ANSWER_SETS = [
    pytest.param({"auth_methods": ["jwt"]}, id="jwt"),
    pytest.param({"auth_methods": ["oauth2_password"]}, id="oauth2_password"),
    pytest.param({"auth_methods": ["jwt", "oauth2_password"]}, id="both-HS256"),
    pytest.param(
        {"auth_methods": ["jwt", "oauth2_password"], "jwt_algorithm": "RS256"},
        id="both-RS256",
    ),
    pytest.param(
        {"auth_methods": ["jwt", "oauth2_password"], "jwt_algorithm": "ES256"},
        id="both-ES256",
    ),
    pytest.param(
        {"auth_methods": ["jwt", "oauth2_password"], "jwt_algorithm": "EdDSA"},
        id="both-EdDSA",
    ),
    pytest.param(
        {"auth_methods": ["jwt", "oauth2_password"], "token_transport": "cookie"},
        id="both-cookie",
    ),
    pytest.param({"allow_registration": False}, id="no-registration"),
    pytest.param({"email_verification": False}, id="no-email-verification"),
    pytest.param({"auth_methods": ["api_key"]}, id="api_key"),
    pytest.param({"auth_methods": ["http_basic"]}, id="http_basic"),
    pytest.param({"auth_methods": ["social"]}, id="social"),
    pytest.param(
        {
            "auth_methods": ["jwt", "social"],
            "social_providers": ["google", "github", "facebook", "oidc"],
        },
        id="jwt-social-every-provider",
    ),
    pytest.param(
        {
            "auth_methods": [
                *("jwt", "oauth2_password", "api_key", "http_basic", "social")
            ],
            "social_providers": ["oidc"],
            "token_transport": "cookie",
        },
        id="all-methods-cookie",
    ),
    # Runs on SQLite here (no DATABASE_URL); tests/test_servers.py runs the same
    # project's suite on a PostgreSQL server.
]


def render(destination: Path, answers: Answers) -> Path:
    """Render the template, uncommitted changes included, with `answers` and defaults.

    `vcs_ref="HEAD"`: without it Copier renders the latest tag, not the working tree.
    """
    copier.run_copy(
        src_path=str(REPO_ROOT),
        dst_path=str(destination),
        data=dict(answers),
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


def project_env() -> dict[str, str]:
    """Environment for uv in a rendered project: its own .venv, this interpreter."""
    env = dict(os.environ)
    # Set by nox: uv would otherwise use (or warn about) the session's environment.
    env.pop("VIRTUAL_ENV", None)
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    env["UV_PYTHON"] = sys.executable
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def run(
    command: list[str],
    cwd: Path,
    timeout: float = 600,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in `cwd` (`env` adds variables, `input` is its standard
    input); stdout and stderr together in `.stdout`."""
    return subprocess.run(
        command,
        cwd=cwd,
        env={**project_env(), **(env or {})},
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`, by POSIX relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def env_value(project: Path, name: str) -> str:
    """The value of setting `name` in the project's .env."""
    for line in (project / ".env").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    raise KeyError(name)
