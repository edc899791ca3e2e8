"""Two replicas of one service sharing one PostgreSQL and one Redis, as real
server processes on loopback, and what happens when a server goes away.

What a load balancer in front of them needs: a logout, a rotated refresh token, a
counted login failure, a revoked API key or a changed password on one replica
holds on the other, within the bound the README gives (Redis pushes revocations:
at once). When Redis or the database stops, requests that need it fail closed
(503 with Retry-After), and the replicas recover when it comes back, without a
restart.
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .helpers import SHARED_ANSWERS, project_env, render
from .servers import Postgres, Redis, running_postgres, running_redis
from .test_rendered_projects import call, served, sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

SLUG = "my-api"
PASSWORD = "analytical-engine-1843"  # noqa: S105  (a test account's)
# Far longer than any wait below: what arrives in time was pushed, not polled.
SYNC_SECONDS = 30.0
# How soon a revocation pushed through Redis must reach the other replica.
PUSHED_WITHIN = 2.0


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render(tmp_path_factory.mktemp("replicas") / "project", SHARED_ANSWERS)
    sync(project)
    return project


def shared_env(postgres: Postgres, redis: Redis, **settings: str) -> dict[str, str]:
    """Settings of a fresh service: its own database and key prefix."""
    return {
        "DATABASE_URL": postgres.create_database(),
        "REDIS_URL": redis.url,
        "REDIS_KEY_PREFIX": f"replicas-{uuid.uuid4().hex[:12]}",
        "REVOCATION_SYNC_SECONDS": str(SYNC_SECONDS),
        **settings,
    }


@pytest.fixture
def replicas(
    project: Path, tmp_path: Path, postgres: Postgres, redis_server: Redis
) -> Iterator[tuple[str, str]]:
    """Two replicas on one database and one Redis (the second starts once the first
    has migrated the database)."""
    env = shared_env(postgres, redis_server)
    with (
        served(project, SLUG, tmp_path / "one.log", env=env) as one,
        served(project, SLUG, tmp_path / "other.log", env=env) as other,
    ):
        yield one, other


def until(check: Callable[[], bool], bound: float) -> float | None:
    """Seconds until `check()` holds, or None if it does not within `bound`."""
    start = time.monotonic()
    while time.monotonic() - start < bound:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def account(base: str, email: str = "ada@example.com") -> dict[str, str]:
    credentials = {"email": email, "password": PASSWORD}
    status, body, _ = call("POST", f"{base}/auth/register", credentials)
    assert status in (201, 202), body  # 202 with email verification
    return credentials


def login(base: str, credentials: dict[str, str], **headers: str) -> Any:
    return call("POST", f"{base}/auth/login", credentials, headers=headers)


def pair(base: str, credentials: dict[str, str]) -> dict[str, Any]:
    status, body, _ = login(base, credentials)
    assert status == 200, body
    return dict(body)


def refresh(base: str, token: str) -> tuple[int, Any]:
    status, body, _ = call("POST", f"{base}/auth/refresh", {"refresh_token": token})
    return status, body


def me(base: str, **auth: Any) -> int:
    status: int = call("GET", f"{base}/users/me", **auth)[0]
    return status


def test_replicas_logout_on_one_is_refused_on_the_other_at_once(
    replicas: tuple[str, str],
) -> None:
    one, other = replicas
    token = pair(one, account(one))["access_token"]
    assert me(other, token=token) == 200
    assert call("POST", f"{one}/auth/logout", token=token)[0] == 204
    assert me(one, token=token) == 401
    delay = until(lambda: me(other, token=token) == 401, PUSHED_WITHIN)
    assert delay is not None, (
        f"the other replica still accepts it after {PUSHED_WITHIN} s"
    )
    print(f"logout reached the other replica in {delay * 1000:.0f} ms")


def test_replicas_refresh_rotated_on_one_is_spent_on_the_other(
    replicas: tuple[str, str],
) -> None:
    one, other = replicas
    credentials = account(one)
    first = pair(one, credentials)
    status, rotated = refresh(one, first["refresh_token"])
    assert status == 200, rotated
    # Within the grace window, a second use is refused and the session lives...
    assert refresh(other, first["refresh_token"])[0] == 400
    status, newer = refresh(other, rotated["refresh_token"])
    assert status == 200, newer
    # ...a token two rotations old is a replay: the whole session ends, everywhere.
    assert refresh(other, first["refresh_token"])[0] == 400
    assert refresh(one, newer["refresh_token"])[0] == 400
    assert until(lambda: me(one, token=newer["access_token"]) == 401, PUSHED_WITHIN)


def test_replicas_exactly_one_of_concurrent_refreshes_wins(
    replicas: tuple[str, str],
) -> None:
    """Eight refreshes with one token at once, four on each replica, each on its own
    connection: one wins; the rest are within the grace window, refused without
    ending the session."""
    one, other = replicas
    token = pair(one, account(one))["refresh_token"]
    bases = [one, other] * 4
    with ThreadPoolExecutor(max_workers=len(bases)) as pool:
        results = list(pool.map(lambda base: refresh(base, token), bases))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [400] * 7, results
    winner = next(body for status, body in results if status == 200)
    for base in (one, other):
        assert me(base, token=winner["access_token"]) == 200
    assert refresh(other, winner["refresh_token"])[0] == 200


def test_replicas_count_login_failures_together(replicas: tuple[str, str]) -> None:
    """LOGIN_MAX_FAILURES_PER_ACCOUNT (5) failures from one client, spread over both
    replicas: the next try is refused on either."""
    one, other = replicas
    credentials = account(one)
    wrong = {**credentials, "password": "not the password"}
    for base in (one, other, one, other, one):
        assert login(base, wrong)[0] == 401
    for base in (one, other):
        status, _, headers = login(base, credentials)
        assert status == 429
        assert int(headers["retry-after"]) > 0


def basic(email: str, password: str = PASSWORD) -> dict[str, str]:
    encoded = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def test_replicas_revoked_api_key_and_changed_password_stop_on_both(
    replicas: tuple[str, str],
) -> None:
    """Both replicas keep verified API keys and Basic credentials in memory."""
    one, other = replicas
    credentials = account(one)
    token = pair(one, credentials)["access_token"]
    status, created, _ = call(
        "POST", f"{one}/auth/api-keys", {"name": "deploy"}, token=token
    )
    assert status == 201, created
    key = {"X-API-Key": created["key"]}
    old = basic(credentials["email"])
    for base in (one, other):
        assert me(base, headers=key) == 200
        assert me(base, headers=old) == 200

    assert call("DELETE", f"{one}/auth/api-keys/{created['id']}", token=token)[0] == 204
    assert until(lambda: me(other, headers=key) == 401, PUSHED_WITHIN)

    change = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    status, body, _ = call("POST", f"{other}/users/me/password", change, headers=old)
    assert status == 204, body
    assert until(lambda: me(one, headers=old) == 401, PUSHED_WITHIN)
    assert until(lambda: me(one, token=token) == 401, PUSHED_WITHIN)


def unavailable(status: int, body: Any, headers: dict[str, str]) -> bool:
    return (
        status == 503
        and isinstance(body, dict)
        and set(body) == {"detail"}
        and headers.get("retry-after") == "5"
    )


# A short sync: the bound past which a replica that cannot sync fails closed is
# max(3 * sync, sync + 10) = 10.5 s (RevocationList.max_staleness).
FAULT_SYNC_SECONDS = 0.5
STALENESS_BOUND = max(3 * FAULT_SYNC_SECONDS, FAULT_SYNC_SECONDS + 10)


def test_replicas_survive_redis_going_away_and_coming_back(
    project: Path, tmp_path: Path, postgres: Postgres
) -> None:
    with ExitStack() as stack:
        redis = stack.enter_context(running_redis(tmp_path))
        env = shared_env(
            postgres, redis, REVOCATION_SYNC_SECONDS=str(FAULT_SYNC_SECONDS)
        )
        logs = [tmp_path / "one.log", tmp_path / "other.log"]
        one = stack.enter_context(served(project, SLUG, logs[0], env=env))
        other = stack.enter_context(served(project, SLUG, logs[1], env=env))
        credentials = account(one)
        tokens = pair(one, credentials)
        token = tokens["access_token"]

        redis.stop()
        down = time.monotonic()
        for base in (one, other):
            status, body, headers = call("GET", f"{base}/health/ready")
            assert status == 503, body
            assert headers["retry-after"] == "5"
            assert body["checks"]["redis"] == "failing"
            assert unavailable(*login(base, credentials))
            assert unavailable(*refresh_call(base, tokens["refresh_token"]))
        # The revocations known a moment ago still hold: tokens work, for a while...
        if time.monotonic() - down < STALENESS_BOUND - 2:
            assert me(other, token=token) == 200
        # ...and fail closed once they may be stale: never let in on a stale list.
        stale = until(
            lambda: unavailable(*call("GET", f"{other}/users/me", token=token)),
            STALENESS_BOUND + 5,
        )
        assert stale is not None, "kept authenticating past the revocation bound"

        redis.start()  # an empty Redis: sessions and revocations of before are gone
        for base in (one, other):
            ready = until(lambda b=base: call("GET", f"{b}/health/ready")[0] == 200, 20)
            assert ready is not None, "not ready again after Redis came back"
        fresh = pair(other, credentials)
        assert (
            call("POST", f"{other}/auth/logout", token=fresh["access_token"])[0] == 204
        )
        assert until(lambda: me(one, token=fresh["access_token"]) == 401, PUSHED_WITHIN)
    for log in logs:
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, text
        assert "the token store does not answer" in text, text
        assert "revocation sync works again" in text, text


def refresh_call(base: str, token: str) -> Any:
    return call("POST", f"{base}/auth/refresh", {"refresh_token": token})


def test_replicas_survive_the_database_going_away_and_coming_back(
    project: Path, tmp_path: Path, redis_server: Redis
) -> None:
    """Redis stays: the claims and the revocations it pushes stay current; what
    needs the database (logins, API keys, accounts) fails closed until it is back."""
    with ExitStack() as stack:
        postgres = stack.enter_context(running_postgres(tmp_path))
        env = shared_env(
            postgres, redis_server, REVOCATION_SYNC_SECONDS=str(FAULT_SYNC_SECONDS)
        )
        log = tmp_path / "serve.log"
        base = stack.enter_context(served(project, SLUG, log, env=env))
        credentials = account(base)
        tokens = pair(base, credentials)
        token = tokens["access_token"]
        assert call("GET", f"{base}/health/ready")[0] == 200

        postgres.stop()
        status, body, headers = call("GET", f"{base}/health/ready")
        assert status == 503, body
        assert headers["retry-after"] == "5"
        assert body["checks"]["database"] == "failing"
        assert unavailable(*login(base, credentials))
        # The refresh reads the account before it spends the token in Redis: 503,
        # and the token is still good once the database is back.
        assert unavailable(*refresh_call(base, tokens["refresh_token"]))
        # Revocations live in Redis: bearer tokens keep working.
        time.sleep(STALENESS_BOUND + 1)
        assert me(base, token=token) == 200

        postgres.start()
        ready = until(lambda: call("GET", f"{base}/health/ready")[0] == 200, 20)
        assert ready is not None, "not ready again after the database came back"
        assert login(base, credentials)[0] == 200
        status, body = refresh(base, tokens["refresh_token"])
        assert status == 200, body  # not spent by the refresh that met the outage
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
    assert "database unavailable" in text, text


def test_replicas_starting_together_migrate_the_database_once(
    project: Path, postgres: Postgres
) -> None:
    """Replicas deployed at once all run `alembic upgrade heads` as they start."""
    env = {**project_env(), "DATABASE_URL": postgres.create_database()}
    command = ["uv", "run", "alembic", "upgrade", "heads"]
    upgrades = [
        subprocess.Popen(
            command,
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [upgrade.communicate(timeout=120)[0] for upgrade in upgrades]
    assert [upgrade.returncode for upgrade in upgrades] == [0, 0, 0], outputs
