"""A generated service under attack, as real server processes on loopback.

What in-process tests cannot show: two processes sharing one database, the
server's own handling of proxy headers and request heads, what reaches the log of
a served process, and concurrency over separate connections.
"""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .helpers import render
from .test_rendered_projects import call, served, sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

SLUG = "my-api"
PASSWORD = "analytical-engine-1843"  # noqa: S105  (a test account's)
# Seconds within which a revocation reaches the other process (the bound `serve`
# is told to keep), and how long a test waits for it at most.
SYNC_SECONDS = "0.5"
BOUND = 5.0
WINDOW_SECONDS = 3600


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default project, set up once: its tests share it, one database each."""
    project = render(tmp_path_factory.mktemp("served") / "project", {})
    sync(project)
    return project


@pytest.fixture
def database(project: Path, tmp_path: Path) -> dict[str, str]:
    """Settings giving each test a database of its own (migrated by `serve`)."""
    # Login limits count in fixed windows: an hour, and a test starts well inside one.
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 30:
        time.sleep(left + 0.1)
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        "REVOCATION_SYNC_SECONDS": SYNC_SECONDS,
        "LOGIN_WINDOW_SECONDS": str(WINDOW_SECONDS),
    }


def register(base: str, email: str) -> None:
    status, body, _ = call(
        "POST", f"{base}/auth/register", {"email": email, "password": PASSWORD}
    )
    assert status in (201, 202), body  # 202 with email verification


def login(base: str, email: str, password: str = PASSWORD, **headers: str) -> Any:
    return call(
        "POST",
        f"{base}/auth/login",
        {"email": email, "password": password},
        headers=headers,
    )


def until(check: Any, bound: float = BOUND) -> bool:
    """Whether `check()` becomes true within `bound` seconds."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return bool(check())


def test_served_logout_reaches_the_other_process_after_a_restart_pruned(
    project: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    """Two processes share one SQLite file. The second has read up to the highest
    revocation; the first restarts and prunes those rows; its next logout must
    still reach the second within the sync bound."""
    db_file = database["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    log = tmp_path / "other.log"
    with served(project, SLUG, log, env=database) as other:
        with served(project, SLUG, tmp_path / "one.log", env=database) as one:
            register(one, "ada@example.com")
            status, body, _ = login(one, "ada@example.com")
            assert status == 200, body
            token = body["access_token"]
            with sqlite3.connect(db_file) as db:  # logouts whose tokens expire now
                db.executemany(
                    "INSERT INTO revocations (kind, value, not_before, expires_at)"
                    " VALUES ('jti', ?, 0, ?)",
                    [(f"old-{i}", int(time.time()) + 1) for i in range(3)],
                )
            time.sleep(2)  # the other process has synced them; they have expired
        with served(project, SLUG, tmp_path / "restarted.log", env=database) as one:
            assert call("GET", f"{other}/users/me", token=token)[0] == 200
            status, _, _ = call("POST", f"{one}/auth/logout", token=token)
            assert status == 204
            assert call("GET", f"{one}/users/me", token=token)[0] == 401
            refused = until(
                lambda: call("GET", f"{other}/users/me", token=token)[0] == 401
            )
            assert refused, "the other process never saw the logout"


def refresh(base: str, token: str) -> tuple[int, Any]:
    status, body, _ = call("POST", f"{base}/auth/refresh", {"refresh_token": token})
    return status, body


def test_served_refresh_rotated_on_one_process_is_spent_on_the_other(
    project: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    """Two processes on one SQLite file: a rotation on one is seen by the other at
    once (the store is shared), and exactly one of concurrent refreshes with the
    same token, spread over both processes and separate connections, wins."""
    env = {**database, "REFRESH_REUSE_GRACE_SECONDS": "0"}
    with (
        served(project, SLUG, tmp_path / "one.log", env=env) as one,
        served(project, SLUG, tmp_path / "other.log", env=env) as other,
    ):
        register(one, "ada@example.com")
        status, first, _ = login(one, "ada@example.com")
        assert status == 200, first
        status, rotated = refresh(one, first["refresh_token"])
        assert status == 200, rotated
        # The spent token, on the other process: a replay, which ends the session.
        status, body = refresh(other, first["refresh_token"])
        assert status == 400, body
        assert body["error"] == "invalid_grant"
        assert refresh(one, rotated["refresh_token"])[0] == 400
        # A new session, then eight refreshes at once with its token.
        _, second, _ = login(other, "ada@example.com")
        bases = [one, other] * 4
        with ThreadPoolExecutor(max_workers=len(bases)) as pool:
            statuses = list(
                pool.map(lambda base: refresh(base, second["refresh_token"])[0], bases)
            )
    assert sorted(statuses) == [200] + [400] * 7, statuses


def test_served_login_failures_counted_on_one_process_count_on_the_other(
    project: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    """LOGIN_MAX_FAILURES_PER_ACCOUNT (5) failures from one client, spread over two
    processes on one SQLite file: the next try is refused on both."""
    with (
        served(project, SLUG, tmp_path / "one.log", env=database) as one,
        served(project, SLUG, tmp_path / "other.log", env=database) as other,
    ):
        register(one, "ada@example.com")
        for base in (one, other, one, other, one):
            assert login(base, "ada@example.com", "not the password")[0] == 401
        for base in (one, other):
            assert login(base, "ada@example.com")[0] == 429


def failures_from_24_addresses(base: str) -> list[int]:
    """Statuses of failed logins that each claim another X-Forwarded-For."""
    return [
        login(
            base,
            f"nobody{i}@example.com",
            "wrong password!",
            **{"X-Forwarded-For": f"198.51.100.{i}"},
        )[0]
        for i in range(24)
    ]


def test_served_forwarded_for_from_loopback_is_not_believed(
    project: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    """No TRUSTED_PROXIES: a client rotating X-Forwarded-For is still one client."""
    with served(project, SLUG, tmp_path / "serve.log", env=database) as base:
        statuses = failures_from_24_addresses(base)
    assert 429 in statuses, statuses
    assert statuses.index(429) == 20, statuses  # LOGIN_MAX_FAILURES_PER_CLIENT


def test_served_forwarded_for_believed_from_a_trusted_proxy(
    project: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    env = {**database, "TRUSTED_PROXIES": '["127.0.0.1"]'}
    with served(project, SLUG, tmp_path / "serve.log", env=env) as base:
        statuses = failures_from_24_addresses(base)
    assert 429 not in statuses, statuses  # 24 clients behind the proxy


def test_served_concurrent_correct_logins_from_one_client_all_succeed(
    project: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    with served(project, SLUG, tmp_path / "serve.log", env=database) as base:
        register(base, "office@example.com")
        with ThreadPoolExecutor(max_workers=30) as pool:  # one connection each
            results = list(
                pool.map(lambda _: login(base, "office@example.com"), range(30))
            )
    assert Counter(status for status, _, _ in results) == {200: 30}


def test_served_log_has_audit_events_and_no_secret(
    project: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    log = tmp_path / "serve.log"
    with served(project, SLUG, log, env=database) as base:
        register(base, "ada@example.com")
        assert login(base, "ada@example.com", "not the password")[0] == 401
        status, body, _ = login(base, "ada@example.com")
        assert status == 200, body
        token = body["access_token"]
        status, _, _ = call("GET", f"{base}/users/me?access_token={token}")
        assert status == 400
        assert call("POST", f"{base}/auth/logout", token=token)[0] == 204
    text = log.read_text(errors="replace")
    events = [
        json.loads(line)["event"] for line in text.splitlines() if line.startswith("{")
    ]
    for event in ("login.failed", "login.succeeded", "logout"):
        assert event in events, text
    assert token not in text
    assert body["refresh_token"] not in text
    assert PASSWORD not in text
    assert "not the password" not in text
    assert 'GET /users/me?<redacted> HTTP/1.1" 400' in text


def test_served_oversized_request_head_and_body_refused(
    project: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    with served(project, SLUG, tmp_path / "serve.log", env=database) as base:
        port = int(base.rsplit(":", 1)[1])
        assert raw_status(port, b"X-Padding: " + b"a" * 64 * 1024 + b"\r\n") in {
            400,
            431,
            None,  # the server closed the connection without an answer
        }
        # A declared body past MAX_BODY_BYTES: 413 before a byte of it is read.
        # (Streamed bodies are counted as they come: the project's own tests.)
        status = raw_status(
            port,
            b"Content-Type: application/json\r\nContent-Length: 300000000\r\n",
            method=b"POST /auth/register",
        )
        assert status == 413
        assert call("GET", f"{base}/health")[0] == 200  # and it still serves


def raw_status(
    port: int, headers: bytes, body: bytes = b"", method: bytes = b"GET /health"
) -> int | None:
    """The status of one raw HTTP/1.1 request, sent in pieces; None if closed."""
    request = method + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            for start in range(0, len(request), 8192):
                connection.sendall(request[start : start + 8192])
            answer = connection.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            return None
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return int(answer.split()[1])


@pytest.fixture(scope="module")
def every_method(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with every credential scheme: bearer tokens, API keys, Basic."""
    answers = {"auth_methods": ["jwt", "oauth2_password", "api_key", "http_basic"]}
    project = render(tmp_path_factory.mktemp("every") / "project", answers)
    sync(project)
    return project


def basic(email: str, password: str = PASSWORD) -> dict[str, str]:
    encoded = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def test_served_api_key_revocation_reaches_the_other_process(
    every_method: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    """Both processes keep the verified key in memory; a revocation on one must
    reach the other's memory within the sync bound, and no key reaches a log."""
    logs = [tmp_path / "one.log", tmp_path / "other.log"]
    with (
        served(every_method, SLUG, logs[0], env=database) as one,
        served(every_method, SLUG, logs[1], env=database) as other,
    ):
        register(one, "ada@example.com")
        token = login(one, "ada@example.com")[1]["access_token"]
        status, created, _ = call(
            "POST", f"{one}/auth/api-keys", {"name": "deploy"}, token=token
        )
        assert status == 201, created
        key = {"X-API-Key": created["key"]}
        for base in (one, other):
            assert call("GET", f"{base}/users/me", headers=key)[0] == 200
        path = f"{one}/auth/api-keys/{created['id']}"
        assert call("DELETE", path, token=token)[0] == 204
        assert call("GET", f"{one}/users/me", headers=key)[0] == 401
        refused = until(lambda: call("GET", f"{other}/users/me", headers=key)[0] == 401)
        assert refused, "the other process kept the revoked key"
    for log in logs:
        assert created["key"] not in log.read_text(errors="replace")


def test_served_basic_password_change_reaches_the_other_process(
    every_method: Path, tmp_path: Path, database: dict[str, str]
) -> None:
    """Basic credentials verified once stay in each process's memory; a password
    change on one must end them on the other within the sync bound."""
    new = "a brand new passphrase"
    with (
        served(every_method, SLUG, tmp_path / "one.log", env=database) as one,
        served(every_method, SLUG, tmp_path / "other.log", env=database) as other,
    ):
        register(one, "ada@example.com")
        old = basic("ada@example.com")
        for base in (one, other):
            assert call("GET", f"{base}/users/me", headers=old)[0] == 200
        change = {"current_password": PASSWORD, "new_password": new}
        status, body, _ = call("POST", f"{one}/users/me/password", change, headers=old)
        assert status == 204, body
        assert call("GET", f"{one}/users/me", headers=old)[0] == 401
        refused = until(lambda: call("GET", f"{other}/users/me", headers=old)[0] == 401)
        assert refused, "the other process kept the old password"
        renewed = basic("ada@example.com", new)
        assert call("GET", f"{other}/users/me", headers=renewed)[0] == 200
