"""Fixtures: projects rendered once per answer set, wall time of the slow checks."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import Answers, render
from .servers import (
    Postgres,
    Redis,
    postgres_bin,
    redis_bin,
    running_postgres,
    running_redis,
)

WALL_TIME = "wall_time_s"


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Answers], Path]:
    """Render a project per distinct answer set, once per test session.

    The projects are shared between tests: read them, never change them.
    """
    projects: dict[str, Path] = {}

    def get(answers: Answers) -> Path:
        key = json.dumps(answers, sort_keys=True)
        if key not in projects:
            folder = tmp_path_factory.mktemp("rendered")
            projects[key] = render(folder / "project", answers)
        return projects[key]

    return get


def _require(missing: str) -> None:
    """Skip a test that needs a server that is not installed; under CI, fail it."""
    reason = f"{missing} is not installed (apt-get install postgresql redis-server)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run every test", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A PostgreSQL server of this test session (one per pytest-xdist worker)."""
    if postgres_bin() is None:
        _require("PostgreSQL")
    with running_postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """A Redis server of this test session (one per pytest-xdist worker)."""
    if redis_bin() is None:
        _require("Redis")
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def timed(record_property: Callable[[str, object], None]) -> Iterator[None]:
    """Record the test's wall time: listed at the end of the run and in JUnit XML."""
    start = time.perf_counter()
    yield
    record_property(WALL_TIME, round(time.perf_counter() - start, 1))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Read from the reports (the teardown one has it), not from a global: works
    # under pytest-xdist too.
    timings = {
        report.nodeid: value
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport)
        for name, value in report.user_properties
        if name == WALL_TIME
    }
    if timings:
        terminalreporter.section("wall time of the rendered projects")
        for nodeid, seconds in sorted(timings.items()):
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}")
