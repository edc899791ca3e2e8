"""`copier update` never hurts: a used, edited project updates cleanly.

Each test works in a temporary clone of this repository whose HEAD is the working
tree (uncommitted changes included) and tags the versions it needs itself. A project
is generated from one version, used (served once, so that it has a database and an
account) and edited like its owner would, then updated. The update must leave no
conflict, keep every edit, every `.env` line and the account, migrate the database,
and leave a project whose own tests pass; updating again to the same version must
change nothing.
"""

from __future__ import annotations

import ast
import re
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from .features import feature_problems
from .helpers import Answers, project_env, run
from .template_repo import (
    clone_working_tree,
    git,
    recorded_releases,
    tag,
    tag_releases,
    version_after_releases,
)
from .test_rendered_projects import served

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

EMAIL = "a@example.com"
PASSWORD = "analytical-engine-1843"  # noqa: S105  (a test account's)
USER_SECRET = "chosen-by-the-owner-0123456789-abcdefghijklmnop"  # noqa: S105

UPDATE_ANSWER_SETS = [
    pytest.param({}, id="defaults"),
    pytest.param(
        {"jwt_algorithm": "EdDSA", "token_transport": "cookie"}, id="EdDSA-cookie"
    ),
]


# The template: a clone, a simulated release ------------------------------------


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """The working tree, committed in a temporary clone without tags."""
    return clone_working_tree(tmp_path / "template")


# What the simulated release renames: a setting, with a migration for .env.
OLD_SETTING, NEW_SETTING = "DOCS_ENABLED", "API_DOCS_ENABLED"
# What it adds: a setting with a safe default, an active line of .env.example.
ADDED_SETTING, ADDED_VALUE = "HTTP_CLIENT_TIMEOUT_SECONDS", "10"
ADDED_FIELD = "    http_client_timeout_seconds: float = Field(default=10.0, gt=0)\n"
ADDED_COLUMN = "display_name"
MIGRATION_REVISION = "0100_user_display_name"

RENAME_SETTING_SCRIPT = '''\
"""Migration: a setting was renamed. Appends NEW=<value of OLD> to .env.

Usage: rename_setting.py OLD NEW. Idempotent; rewrites no line; prints names only.
"""

import re
import sys
from pathlib import Path

SETTING = re.compile(r"^\\s*(?:export\\s+)?([A-Za-z_][A-Za-z0-9_]*)\\s*=(.*)$")


def main(old: str, new: str) -> int:
    env = Path(".env")
    if not env.is_file():
        return 0
    text = env.read_text(encoding="utf-8")
    values = {}
    for line in text.splitlines():
        match = SETTING.match(line)
        if match:
            values.setdefault(match.group(1), match.group(2))
    if old not in values or new in values:
        return 0
    with env.open("a", encoding="utf-8") as env_file:
        separator = "" if text.endswith("\\n") else "\\n"
        env_file.write(f"{separator}{new}={values[old]}\\n")
    print(f".env: {old} is now {new}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
'''

MIGRATION_TEMPLATE = '''\
"""Users: an optional display name.

Revision ID: {revision}
Revises: {down_revision}
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "{revision}"
down_revision: str | Sequence[str] | None = "{down_revision}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("{column}", sa.String(length=100), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("{column}")
'''


def _edit(path: Path, old: str, new: str, *, pattern: bool = False) -> None:
    """Replace in a template file; the test fails if the template changed shape."""
    text = path.read_text(encoding="utf-8")
    if pattern:
        changed, count = re.subn(old, new, text, flags=re.MULTILINE)
    else:
        changed, count = text.replace(old, new), text.count(old)
    assert count, (
        f"{path.name} has no {old!r} any more: update the simulated template change"
    )
    path.write_text(changed, encoding="utf-8")


def base_revision_head(versions: Path) -> str:
    """The newest revision on the users branch, among the unconditional files."""
    parents: dict[str, Any] = {}
    for path in versions.glob("*.py"):
        if "{%" in path.name:
            continue  # an optional feature's branch
        values = {
            node.target.id: ast.literal_eval(node.value)
            for node in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id in {"revision", "down_revision"}
            and node.value is not None
        }
        parents[values["revision"]] = values.get("down_revision")
    head = "0001_users"
    while children := [rev for rev, parent in parents.items() if parent == head]:
        head = sorted(children)[0]
    return head


def release_template_change(template: Path, version: str) -> None:
    """Change the template like a real release would, commit and tag `version`.

    A new setting (active line in .env.example, read in config), a renamed setting
    with its `_migrations` entry, a changed module (the user model) and a new
    Alembic migration adding a column.
    """
    root = template / "template"
    package = root / "src" / "{{package_name}}"

    env_example = root / ".env.example.jinja"
    text = env_example.read_text(encoding="utf-8")
    env_example.write_text(
        text.rstrip("\n")
        + "\n\n# Timeout of the service's outgoing HTTP calls, in seconds.\n"
        + f"{ADDED_SETTING}={ADDED_VALUE}\n",
        encoding="utf-8",
    )
    _edit(
        package / "config.py.jinja",
        r"^(    database_url: str = .*\n)",
        rf"\g<1>{ADDED_FIELD}",
        pattern=True,
    )

    renamed = 0
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            changed = re.sub(rf"\b{OLD_SETTING}\b", NEW_SETTING, text)
            changed = re.sub(
                rf"\b{OLD_SETTING.lower()}\b", NEW_SETTING.lower(), changed
            )
            if changed != text:
                renamed += 1
                path.write_text(changed, encoding="utf-8", errors="surrogateescape")
    assert renamed >= 2, f"the template no longer has {OLD_SETTING}: update the test"
    (template / "hooks" / "rename_setting.py").write_text(
        RENAME_SETTING_SCRIPT, encoding="utf-8"
    )
    migrations = (
        f'_migrations:\n  - version: "{version}"\n'
        "    when: \"{{ _stage == 'before' }}\"\n"
        '    command: ["{{ _copier_python }}",'
        ' "{{ _copier_conf.src_path }}/hooks/rename_setting.py",'
        f' "{OLD_SETTING}", "{NEW_SETTING}"]\n'
    )
    _edit(template / "copier.yml", r"^_migrations: \[\]\n", migrations, pattern=True)

    _edit(
        package / "users" / "models.py",
        r'^(    __tablename__ = "users"\n)',
        r"\g<1>    "
        + ADDED_COLUMN
        + ": Mapped[str | None] = mapped_column(String(100), default=None)\n",
        pattern=True,
    )
    versions = root / "migrations" / "versions"
    (versions / f"{MIGRATION_REVISION}.py").write_text(
        MIGRATION_TEMPLATE.format(
            revision=MIGRATION_REVISION,
            down_revision=base_revision_head(versions),
            column=ADDED_COLUMN,
        ),
        encoding="utf-8",
    )

    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", f"Release {version}")
    tag(template, version)


# The project: generated, used, edited, updated ------------------------------------


def generate(template: Path, version: str, destination: Path, answers: Answers) -> Path:
    """Generate a project from the tag `version` and commit it, as the README says."""
    copier.run_copy(
        src_path=str(template),
        dst_path=str(destination),
        data=dict(answers),
        vcs_ref=version,
        defaults=True,
        unsafe=True,
        quiet=True,
    )
    git(destination, "init", "--quiet")
    commit_all(destination, "Generate the service")
    return destination


def update(project: Path, **data: Any) -> None:
    """`copier update --trust --defaults [--data ...]`: to the template's latest tag."""
    copier.run_update(
        dst_path=str(project),
        data=data,
        defaults=True,
        overwrite=True,
        unsafe=True,
        quiet=True,
    )


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--allow-empty", "-m", message)


def recorded(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return answers


def uv_ok(project: Path, *command: str, timeout: float = 600) -> str:
    result = run(["uv", "run", *command], cwd=project, timeout=timeout)
    assert result.returncode == 0, f"uv run {' '.join(command)}:\n{result.stdout}"
    return result.stdout


def use(project: Path, tmp_path: Path) -> None:
    """Serve once until healthy (so app.db exists), create an account, stop."""
    slug = recorded(project)["project_slug"]
    with served(project, slug, tmp_path / f"serve-{slug}.log", timeout=300):
        created = subprocess.run(
            ["uv", "run", slug, "create-user", EMAIL],
            cwd=project,
            env=project_env(),
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert created.returncode == 0, created.stdout + created.stderr
    assert (project / "app.db").is_file()
    commit_all(project, "Lock the dependencies")  # uv.lock, as its owner would


@dataclass
class Edits:
    """What the owner changed: files that must survive updates as they are."""

    files: dict[str, str]
    readme_line: str
    env_before: bytes
    keys_before: dict[str, bytes]


def edit_like_an_owner(project: Path) -> Edits:
    """A new route module and its test, a README paragraph, .env, a dependency."""
    answers = recorded(project)
    package = answers["package_name"]
    files = {
        f"src/{package}/greetings.py": (
            '"""Greetings: the first route of our own."""\n\n'
            "from fastapi import APIRouter\n\n"
            f"from {package}.auth.dependencies import (\n"
            "    CurrentUser,\n"
            "    require_roles,\n"
            "    require_scopes,\n"
            ")\n"
            f"from {package}.users.models import User\n\n"
            'router = APIRouter(tags=["greetings"])\n\n\n'
            "def greeting_for(account: User) -> str:\n"
            '    return f"hello {account.email}"\n\n\n'
            '@router.get("/hello")\n'
            "async def hello() -> dict[str, str]:\n"
            '    return {"message": "hello"}\n\n\n'
            # The public names of the release it was written for: still there.
            '@router.get("/hello/me", dependencies=[require_scopes("profile")])\n'
            "async def hello_me(user: CurrentUser) -> dict[str, str]:\n"
            '    return {"message": f"hello {user.email}"}\n\n\n'
            '@router.get("/hello/admin", dependencies=[require_roles("admin")])\n'
            "async def hello_admin() -> dict[str, str]:\n"
            '    return {"message": "hello, admin"}\n'
        ),
        "tests/test_greetings.py": (
            "from fastapi import FastAPI\n"
            "from fastapi.testclient import TestClient\n\n"
            f"from {package}.greetings import router\n\n\n"
            "def test_hello() -> None:\n"
            "    app = FastAPI()\n"
            "    app.include_router(router)\n"
            "    with TestClient(app) as client:\n"
            '        assert client.get("/hello").json() == {"message": "hello"}\n'
        ),
    }
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")

    readme = project / "README.md"
    text = readme.read_text(encoding="utf-8")
    ours = "The accounts service of Example Corp: one sign-in for every internal tool."
    assert f"\n{answers['description']}\n" in text
    readme.write_text(
        text.replace(f"\n{answers['description']}\n", f"\n{ours}\n", 1),
        encoding="utf-8",
    )

    env = project / ".env"
    lines = env.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [
        f"JWT_SECRET={USER_SECRET}\n" if line.startswith("JWT_SECRET=") else line
        for line in lines
    ]
    lines += [
        "\n# Ours.\n",
        f"{OLD_SETTING}=false\n",
        "PAYMENTS_API_URL=https://payments.example.com\n",
    ]
    env.write_text("".join(lines), encoding="utf-8")

    added = run(["uv", "add", "--quiet", "humanize"], cwd=project)
    assert added.returncode == 0, added.stdout
    commit_all(project, "Our first route, our README, a dependency")
    keys = project / "keys"
    return Edits(
        files=files,
        readme_line=ours,
        env_before=env.read_bytes(),
        keys_before={path.name: path.read_bytes() for path in sorted(keys.glob("*"))},
    )


# Checks ------------------------------------------------------------------------------


def assert_merged_cleanly(project: Path) -> None:
    assert git(project, "ls-files", "-u") == "", "copier update left conflicts"
    listed = git(project, "ls-files", "--cached", "--others", "--exclude-standard")
    marked = [
        name
        for name in listed.splitlines()
        if (project / name).is_file()
        and any(
            line.startswith((b"<<<<<<<", b">>>>>>>"))
            for line in (project / name).read_bytes().splitlines()
        )
    ]
    assert marked == [], "conflict markers left in files"
    rejected = [
        str(path.relative_to(project))
        for path in project.rglob("*.rej")
        if ".venv" not in path.parts
    ]
    assert rejected == [], "copier update left rejected hunks"


def assert_edits_kept(project: Path, edits: Edits) -> list[str]:
    """The owner's edits are all there; returns the lines appended to .env."""
    for name, text in edits.files.items():
        assert (project / name).read_text(encoding="utf-8") == text, name
    assert edits.readme_line in (project / "README.md").read_text(encoding="utf-8")
    assert '"humanize>=' in (project / "pyproject.toml").read_text(encoding="utf-8")
    env = (project / ".env").read_bytes()
    assert env.startswith(edits.env_before), ".env lines were rewritten"
    listed = git(project, "ls-files", "--cached", "--others", "--exclude-standard")
    leaked = [
        name
        for name in listed.splitlines()
        if (project / name).is_file()
        and USER_SECRET.encode() in (project / name).read_bytes()
    ]
    assert leaked == [], "the secret of .env got into files git tracks"
    keys = project / "keys"
    assert {
        path.name: path.read_bytes() for path in sorted(keys.glob("*"))
    } == edits.keys_before
    return env[len(edits.env_before) :].decode().splitlines()


def assert_database_migrated_with_account(project: Path) -> sqlite3.Connection:
    uv_ok(project, "alembic", "upgrade", "heads")
    database = sqlite3.connect(project / "app.db")
    emails = [row[0] for row in database.execute("SELECT email FROM users")]
    assert emails == [EMAIL]
    return database


def assert_own_tests_pass(project: Path) -> None:
    uv_ok(project, "pytest", "-q", "-p", "no:cacheprovider", "-x")


def assert_update_to_same_version_changes_nothing(project: Path) -> None:
    commit_all(project, "Update the template")
    env = (project / ".env").read_bytes()
    head = git(project, "rev-parse", "HEAD")

    update(project)

    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", "HEAD") == head
    assert (project / ".env").read_bytes() == env


# Tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("answers", UPDATE_ANSWER_SETS)
def test_update_to_new_release_keeps_edits_secrets_and_data(
    template: Path, tmp_path: Path, answers: Answers
) -> None:
    base, new = version_after_releases(0), version_after_releases(1)
    tag(template, base)
    project = generate(template, base, tmp_path / "project", answers)
    use(project, tmp_path)
    edits = edit_like_an_owner(project)
    release_template_change(template, new)

    update(project)

    assert_merged_cleanly(project)
    appended = assert_edits_kept(project, edits)
    assert appended == [f"{NEW_SETTING}=false", f"{ADDED_SETTING}={ADDED_VALUE}"]
    assert recorded(project)["_commit"] == new
    package = recorded(project)["package_name"]
    assert (project / "migrations" / "versions" / f"{MIGRATION_REVISION}.py").is_file()
    settings = uv_ok(
        project,
        "python",
        "-c",
        f"from {package}.config import load_settings; s = load_settings(); "
        "print(s.http_client_timeout_seconds, s.api_docs_enabled)",
    )
    assert settings.splitlines()[-1].split() == ["10.0", "False"]
    database = assert_database_migrated_with_account(project)
    columns = [row[1] for row in database.execute("PRAGMA table_info(users)")]
    database.close()
    assert ADDED_COLUMN in columns
    assert_own_tests_pass(project)
    assert_update_to_same_version_changes_nothing(project)


@pytest.mark.parametrize(
    "release", list(recorded_releases()) or [pytest.param(None, id="none-recorded")]
)
def test_update_from_recorded_release_to_working_tree(
    template: Path, tmp_path: Path, release: str | None
) -> None:
    if release is None:
        pytest.skip("no release recorded in releases.toml yet")
    tag_releases(template)
    head = version_after_releases()
    tag(template, head)
    project = generate(template, release, tmp_path / "project", {})
    use(project, tmp_path)
    edits = edit_like_an_owner(project)

    update(project)

    assert_merged_cleanly(project)
    appended = assert_edits_kept(project, edits)
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", line) for line in appended)
    assert recorded(project)["_commit"] == head
    assert feature_problems(project) == []
    database = assert_database_migrated_with_account(project)
    # The release's revocations table reused the ids of pruned rows: rebuilt.
    (table,) = database.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'revocations'"
    ).fetchone()
    database.close()
    assert "AUTOINCREMENT" in table
    assert (project / ".env").read_text(encoding="utf-8").count("SESSION_SECRET=") == 1
    assert_own_tests_pass(project)
    assert_update_to_same_version_changes_nothing(project)


@pytest.mark.parametrize(
    ("question", "first", "second", "module"),
    [
        pytest.param(
            "auth_methods",
            ["jwt"],
            ["jwt", "oauth2_password"],
            "routes/password_flow.py",
            id="add-then-remove-oauth2_password",
        ),
        pytest.param(
            "token_transport",
            "bearer",
            "cookie",
            "auth/methods/cookies.py",
            id="bearer-to-cookie-and-back",
        ),
        pytest.param(
            "auth_methods",
            ["jwt"],
            ["jwt", "api_key"],
            "auth/methods/api_keys.py",
            id="add-then-remove-api_key",
        ),
        pytest.param(
            "auth_methods",
            ["http_basic"],
            ["jwt", "http_basic"],
            "auth/tokens/handler.py",
            id="add-then-remove-token-methods",
        ),
        pytest.param(
            "auth_methods",
            ["jwt"],
            ["jwt", "social"],
            "auth/social/flow.py",
            id="add-then-remove-social",
        ),
    ],
)
def test_reanswering_adds_and_removes_a_feature_cleanly(
    template: Path,
    tmp_path: Path,
    question: str,
    first: object,
    second: object,
    module: str,
) -> None:
    version = version_after_releases()
    tag(template, version)
    project = generate(template, version, tmp_path / "project", {question: first})
    module_path = project / "src" / recorded(project)["package_name"] / module
    # One database through every change, as a deployed service has.
    uv_ok(project, "alembic", "upgrade", "heads")
    commit_all(project, "Lock the dependencies")  # uv wrote uv.lock

    for answer, has_module in ((second, True), (first, False)):
        update(project, **{question: answer})

        assert_merged_cleanly(project)
        # A feature's migrations come and go with it; the database follows.
        uv_ok(project, "alembic", "upgrade", "heads")
        assert recorded(project)[question] == answer
        assert module_path.is_file() == has_module
        # Its files, imports, settings, dependencies, migrations: see features.toml.
        assert feature_problems(project) == []
        assert_own_tests_pass(project)
        commit_all(project, f"{question}: {answer}")
