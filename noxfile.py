# /// script
# requires-python = ">=3.11"
# dependencies = ["nox"]
# ///
"""Sessions of the template repository: `nox -s tests`, `nox -s lint`, `nox -s render`,
`nox -s matrix` and `nox -s release`.

Every session runs on the interpreter that runs nox: it never downloads one.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox
from packaging.version import InvalidVersion, Version

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
LINTED = ["hooks", "tests", "benchmarks", "noxfile.py"]
RELEASES = ROOT / "releases.toml"
CHANGELOG = ROOT / "CHANGELOG.md"


@nox.session
def tests(session: nox.Session) -> None:
    """Check the template and the projects it renders.

    Pass pytest options after `--`: `nox -s tests -- -m "not slow"` skips setting up
    and checking the rendered projects; `-n 0` runs everything in one process.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run(
        "pytest", "--numprocesses=auto", "--dist=worksteal", "tests/", *session.posargs
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff and mypy --strict on the template repository's own Python."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("mypy", "--strict", "hooks")


@nox.session(default=False)
def render(session: nox.Session) -> None:
    """Render a project from the working tree: `nox -s render -- DEST [KEY=VALUE ...]`.

    Answers not given take their defaults, for example
    `nox -s render -- ../demo auth_methods='[jwt]' jwt_algorithm=EdDSA`.
    """
    if not session.posargs:
        session.error("give the destination folder: nox -s render -- DEST")
    destination, *answers = session.posargs
    session.install("copier>=9.4")
    data = [arg for answer in answers for arg in ("--data", answer)]
    session.run(
        "copier",
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref=HEAD",
        *data,
        str(ROOT.resolve()),
        str(Path(destination).resolve()),
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Print what authentication costs per request, beside fastapi-users.

    `nox -s bench -- [--seconds N] [--rounds N] [KEY=VALUE ...]`: renders a project
    and sets up fastapi-users' full example in a virtual environment of its own
    (from PyPI), serves both and drives them in turns with wrk (apt-get install wrk).
    `nox -s bench -- --replicas [SECONDS]` instead serves two replicas on throwaway
    PostgreSQL and Redis servers beside one process on SQLite (benchmarks/replicas.py).
    """
    session.install("copier>=9.4", "pyyaml>=6.0", "uv>=0.5")
    if "--replicas" in session.posargs:
        seconds = [arg for arg in session.posargs if arg != "--replicas"]
        session.run("python", "benchmarks/replicas.py", *seconds[-1:])
        return
    session.run("python", "benchmarks/auth_overhead.py", *session.posargs)


@nox.session(default=False)
def matrix(session: nox.Session) -> None:
    """Check the answer matrix: every auth_methods subset, every pair of the rest.

    Renders each combination of the matrix (tests/matrix.py reads the questions and
    their choices from copier.yml) and runs the rendered project's checks, as many
    at once as there are CPU cores. `nox -s matrix -- --list` prints the
    combinations; `-- --workers N` sets how many run at once.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("python", "-m", "tests.matrix", *session.posargs)


def _git(session: nox.Session, *args: str) -> str:
    output = session.run("git", *args, external=True, silent=True)
    return str(output).strip()


def recorded_releases() -> dict[Version, str]:
    """The releases file: every released version and the commit its tag points to."""
    if not RELEASES.is_file():
        return {}
    table = tomllib.loads(RELEASES.read_text(encoding="utf-8")).get("releases", {})
    return {Version(version): commit for version, commit in table.items()}


def changelog_section(version: str) -> str | None:
    """The text of CHANGELOG.md's `## <version>` section, or None."""
    if not CHANGELOG.is_file():
        return None
    text = CHANGELOG.read_text(encoding="utf-8")
    heading = re.compile(rf"^## {re.escape(version)}(?:\s.*)?$", re.MULTILINE)
    match = heading.search(text)
    if match is None:
        return None
    following = re.compile(r"^## ", re.MULTILINE).search(text, match.end())
    return text[match.end() : following.start() if following else len(text)].strip()


@nox.session(python=False, default=False)
def release(session: nox.Session) -> None:
    """Release the template: `nox -s release -- 0.2.0`.

    Refuses a dirty working tree, a version that is not PEP 440 in its normal form,
    one not newer than the last recorded release, and a version without a
    CHANGELOG.md section (`## 0.2.0`) holding a `Migration:` line. Then creates the
    annotated tag at HEAD, records `version = "<commit>"` in releases.toml and
    commits that record. Push the tag and the commit yourself.
    """
    if len(session.posargs) != 1:
        session.error("give the version to release: nox -s release -- 0.2.0")
    name = session.posargs[0]
    try:
        version = Version(name)
    except InvalidVersion:
        session.error(f"{name!r} is not a PEP 440 version (for example 0.2.0)")
    if str(version) != name:
        session.error(f"write the version in its normal form: {version}")
    if _git(session, "status", "--porcelain"):
        session.error("the working tree has uncommitted changes: commit them first")
    recorded = recorded_releases()
    if recorded and version <= max(recorded):
        session.error(f"{name} is not newer than the last release, {max(recorded)}")
    if _git(session, "tag", "--list", name):
        session.error(f"the tag {name} exists already")
    section = changelog_section(name)
    if not section:
        session.error(
            f"CHANGELOG.md has no section for {name}: add `## {name}` saying what"
            " changes for an updated project, with a `Migration:` line"
        )
    if not re.search(r"^Migration:\s*\S", section, re.MULTILINE):
        session.error(
            f"CHANGELOG.md, section {name}: add a `Migration:` line saying whether"
            " `copier update` runs a migration (`Migration: none.`)"
        )

    commit = _git(session, "rev-parse", "HEAD")
    _git(session, "tag", "--annotate", "-m", f"Release {name}", name, commit)
    before = RELEASES.read_text(encoding="utf-8") if RELEASES.is_file() else None
    try:
        with RELEASES.open("a", encoding="utf-8") as releases:
            if before is None:
                releases.write("[releases]\n")
            releases.write(f'"{name}" = "{commit}"\n')
        _git(session, "add", "--", RELEASES.name)
        _git(
            session,
            "commit",
            "--quiet",
            "-m",
            f"Record release {name}: the tests replay it from this commit, tags or not",
            "--",
            RELEASES.name,
        )
    except BaseException:
        # All or nothing: no tag without its record.
        _git(session, "tag", "--delete", name)
        _git(session, "reset", "--quiet", "--", RELEASES.name)
        if before is None:
            RELEASES.unlink(missing_ok=True)
        else:
            RELEASES.write_text(before, encoding="utf-8")
        raise
    session.log(f"Tagged {name} at {commit}; recorded in {RELEASES.name}.")
    session.log(f"Publish it: git push origin {name} && git push")


if __name__ == "__main__":
    nox.main()
