# /// script
# requires-python = ">=3.11"
# dependencies = ["nox"]
# ///
"""Sessions of the template repository: `nox -s tests`, `nox -s lint`, `nox -s render`
and `nox -s matrix`.

Every session runs on the interpreter that runs nox: it never downloads one.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
LINTED = ["hooks", "tests", "noxfile.py"]


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
def matrix(session: nox.Session) -> None:
    """Check the answer matrix: every auth_methods subset, every pair of the rest.

    Renders each combination of the matrix (tests/matrix.py reads the questions and
    their choices from copier.yml) and runs the rendered project's checks, as many
    at once as there are CPU cores. `nox -s matrix -- --list` prints the
    combinations; `-- --workers N` sets how many run at once.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("python", "-m", "tests.matrix", *session.posargs)


if __name__ == "__main__":
    nox.main()
