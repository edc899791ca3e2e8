"""Projects with a database or token store server, checked on real servers.

Each project of SERVER_SETS passes its checks as every project does, runs its own
suite on SQLite with no server (as a checkout without them does), and runs it again
with DATABASE_URL / REDIS_URL pointing at throwaway PostgreSQL and Redis servers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import (
    POSTGRESQL_ANSWERS,
    REDIS_ANSWERS,
    SHARED_ANSWERS,
    Answers,
    render,
    run,
)
from .test_rendered_projects import CHECKS, sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

PYTEST = ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"]
SERVER_SETS = [
    pytest.param(POSTGRESQL_ANSWERS, ["postgres"], id="postgresql"),
    pytest.param(REDIS_ANSWERS, ["redis_server"], id="redis"),
    pytest.param(SHARED_ANSWERS, ["postgres", "redis_server"], id="postgresql-redis"),
]


@pytest.mark.parametrize(("answers", "servers"), SERVER_SETS)
def test_project_passes_its_checks_without_and_with_its_servers(
    tmp_path: Path, request: pytest.FixtureRequest, answers: Answers, servers: list[str]
) -> None:
    project = render(tmp_path / "project", answers)
    sync(project)
    env = {}
    if "postgres" in servers:
        env["DATABASE_URL"] = request.getfixturevalue("postgres").url()
    if "redis_server" in servers:
        env["REDIS_URL"] = request.getfixturevalue("redis_server").url

    failures = []
    for command in CHECKS:  # no server: SQLite and the database as token store
        result = run(command, cwd=project, env={"DATABASE_URL": "", "REDIS_URL": ""})
        if result.returncode != 0:
            failures.append(f"$ {' '.join(command)}\n{result.stdout}")
    result = run(PYTEST, cwd=project, env=env)
    if result.returncode != 0:
        failures.append(f"$ {' '.join(PYTEST)} with {sorted(env)}\n{result.stdout}")
    assert not failures, "\n\n".join(failures)
    # The tests that need a server ran: none was skipped for the lack of one.
    assert "needs a PostgreSQL server" not in result.stdout
    assert "set REDIS_URL" not in result.stdout
