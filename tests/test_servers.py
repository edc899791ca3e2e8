"""Projects with database=postgresql, on a real PostgreSQL server.

Their own suite, with DATABASE_URL pointing at the server, and a served process
whose database goes down and comes back: requests fail closed with 503 and the
service recovers without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import POSTGRESQL_ANSWERS, render, run
from .servers import Postgres, running_postgres
from .test_rendered_projects import CHECKS, call, served, sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

SLUG = "my-api"
PASSWORD = "analytical-engine-1843"  # noqa: S105  (a test account's)
SYNC_SECONDS = 0.5
# RevocationList.max_staleness for SYNC_SECONDS: max(3 * sync, sync + 10).
STALENESS_BOUND = max(3 * SYNC_SECONDS, SYNC_SECONDS + 10)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render(tmp_path_factory.mktemp("pg") / "project", POSTGRESQL_ANSWERS)
    sync(project)
    return project


def test_postgresql_project_passes_its_checks_on_a_server(
    project: Path, postgres: Postgres
) -> None:
    env = {"DATABASE_URL": postgres.url()}
    failures = []
    for command in CHECKS:
        result = run(command, cwd=project, env=env)
        if result.returncode != 0:
            failures.append(f"$ {' '.join(command)}\n{result.stdout}")
    assert not failures, "\n\n".join(failures)


def until(check: Callable[[], bool], bound: float) -> bool:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def unavailable(status: int, body: object, headers: dict[str, str]) -> bool:
    return (
        status == 503
        and isinstance(body, dict)
        and set(body) == {"detail"}
        and headers.get("retry-after") == "5"
    )


def test_served_database_outage_fails_closed_then_recovers(
    project: Path, tmp_path: Path
) -> None:
    with running_postgres(tmp_path) as server:
        env = {
            "DATABASE_URL": server.create_database("outage"),
            "REVOCATION_SYNC_SECONDS": str(SYNC_SECONDS),
        }
        log = tmp_path / "serve.log"
        with served(project, SLUG, log, env=env) as base:
            account = {"email": "ada@example.com", "password": PASSWORD}
            assert call("POST", f"{base}/auth/register", account)[0] == 201
            status, pair, _ = call("POST", f"{base}/auth/login", account)
            assert status == 200, pair
            token = pair["access_token"]
            assert call("GET", f"{base}/health/ready")[0] == 200

            server.stop()
            down = time.monotonic()
            status, body, headers = call("GET", f"{base}/health/ready")
            assert headers["retry-after"] == "5"
            assert status == 503, body
            assert body["checks"]["database"] == "failing"
            assert unavailable(*call("POST", f"{base}/auth/login", account))
            refresh = {"refresh_token": pair["refresh_token"]}
            assert unavailable(*call("POST", f"{base}/auth/refresh", refresh))
            # The claims suffice while revocations are known to be current...
            if time.monotonic() - down < STALENESS_BOUND - 2:
                assert call("GET", f"{base}/users/me", token=token)[0] == 200
            # ...and no longer once they may be stale: fail closed.
            assert until(
                lambda: unavailable(*call("GET", f"{base}/users/me", token=token)),
                STALENESS_BOUND + 5,
            ), "authenticated requests kept working past the revocation bound"

            server.start()
            assert until(lambda: call("GET", f"{base}/health/ready")[0] == 200, 20), (
                "not ready again after the database came back"
            )
            assert call("GET", f"{base}/users/me", token=token)[0] == 200
            status, body, _ = call("POST", f"{base}/auth/login", account)
            assert status == 200, body
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
    assert "database unavailable" in text, text
