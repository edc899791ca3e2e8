"""Rendered projects set up with uv, pass their own checks, and serve."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import ANSWER_SETS, Answers, project_env, render, run

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

CHECKS = [
    # What a fresh checkout commits with: the project's own pre-commit hooks (ruff
    # check and format, mypy --strict, bandit's medium and high findings, no
    # conflict markers), on every file, in a repository as `git init` leaves it.
    ["git", "init", "--quiet"],
    ["git", "add", "--all"],
    ["uv", "run", "pre-commit", "run", "--all-files", "--show-diff-on-failure"],
    ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"],
]


def sync(project: Path) -> None:
    result = run(["uv", "sync", "--quiet"], cwd=project)
    assert result.returncode == 0, f"uv sync failed:\n{result.stdout}"


@pytest.mark.parametrize("answers", ANSWER_SETS)
def test_rendered_project_passes_its_checks(tmp_path: Path, answers: Answers) -> None:
    project = render(tmp_path / "project", answers)
    sync(project)

    failures = []
    for command in CHECKS:
        result = run(command, cwd=project)
        if result.returncode != 0:
            failures.append(f"$ {' '.join(command)}\n{result.stdout}")

    assert not failures, "\n\n".join(failures)


# The smoke test talks to a real server over loopback: never through a proxy.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One HTTP request: status, decoded JSON body (or None), lower-cased headers."""
    sent = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    # Only ever http://127.0.0.1: the server this test started.
    request = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310
    try:
        with _opener.open(request, timeout=30) as response:
            status, raw, received = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, received = error.code, error.read(), error.headers
    headers = {name.lower(): value for name, value in received.items()}
    return status, json.loads(raw) if raw else None, headers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_healthy(
    url: str, server: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server stopped (exit {server.returncode})"
        try:
            if call("GET", url)[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail(f"GET {url} did not answer 200 within {timeout:.0f} s")


def forge(token: str) -> str:
    """The token with its signature's last character changed.

    Flipping the top bit of the character's 6-bit value always changes a bit of the
    signature: the lowest bits of a base64url tail can be padding.
    """
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[alphabet.index(token[-1]) ^ 0b100000]
    return token[:-1] + replacement


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and its children (`uv run` starts the service as a child)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@contextlib.contextmanager
def served(
    project: Path,
    slug: str,
    log_path: Path,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """`uv run <slug> serve` on `port` (default: a free one) until the block ends;
    yields its URL.

    `env` adds settings (they override .env). The server's output goes to
    `log_path` and is printed (pytest shows it when the test fails).
    """
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["uv", "run", slug, "serve", "--port", str(port)],
            cwd=project,
            env={**project_env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_healthy(f"{base}/health", server, timeout=timeout)
        yield base
    finally:
        stop(server)
        print(log_path.read_text(errors="replace"))


def test_rendered_service_logs_in_and_refuses_forged_token(tmp_path: Path) -> None:
    """The default project served on loopback: on SERVED_PORT when it is set (to
    watch it, or where only some ports may be used), else on a free port."""
    project = render(tmp_path / "project", {})
    sync(project)
    email, password = "ada@example.com", "analytical-engine-1843"
    port = int(os.environ.get("SERVED_PORT") or 0) or None

    with served(project, "my-api", tmp_path / "serve.log", port=port) as base:
        account = {"email": email, "password": password}
        status, body, _ = call("POST", f"{base}/auth/register", account)
        assert status in (201, 202), body  # 202 with email verification

        status, body, _ = call("POST", f"{base}/auth/login", account)
        assert status == 200, body
        token = body["access_token"]

        status, body, _ = call("GET", f"{base}/users/me", token=token)
        assert status == 200, body
        assert body["email"] == email

        status, body, headers = call("GET", f"{base}/users/me", token=forge(token))
        assert status == 401, body
        challenge = headers["www-authenticate"]
        assert 'error="invalid_token"' in challenge
        assert "realm=" in challenge
