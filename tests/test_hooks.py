"""hooks/write_env.py: .env gets every missing setting and never loses a line."""

from __future__ import annotations

import base64
import importlib.util
import stat
import subprocess
from pathlib import Path
from types import ModuleType

import copier
import pytest
import yaml

from .features import recorded_answers
from .helpers import REPO_ROOT
from .template_repo import clone_working_tree, git, tag, version_after_releases

EXAMPLE = """\
# Settings, documented.
ENVIRONMENT=development

# Commented settings show defaults and are not copied.
# DATABASE_URL=sqlite+aiosqlite:///./app.db
JWT_SECRET=
"""


def load_hook() -> ModuleType:
    path = REPO_ROOT / "hooks" / "write_env.py"
    spec = importlib.util.spec_from_file_location("write_env", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


write_env = load_hook()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".env.example").write_text(EXAMPLE, encoding="utf-8")
    return tmp_path


def read_env(project: Path) -> str:
    return (project / ".env").read_text(encoding="utf-8")


def setting(text: str, name: str) -> str:
    values = [
        line.partition("=")[2] for line in text.splitlines() if line.startswith(name)
    ]
    assert len(values) == 1, text
    return values[0]


def test_update_env_new_env_gets_every_active_setting(project: Path) -> None:
    added = write_env.update_env(project)

    assert added == ["ENVIRONMENT", "JWT_SECRET"]
    text = read_env(project)
    assert setting(text, "ENVIRONMENT") == "development"
    assert text.startswith(write_env.HEADER)


def test_update_env_secret_is_fresh_and_256_bits(project: Path) -> None:
    write_env.update_env(project)

    secret = setting(read_env(project), "JWT_SECRET")
    assert secret.startswith("dev-")
    encoded = secret.removeprefix("dev-")
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    assert len(raw) >= 32


def test_update_env_new_env_is_private(project: Path) -> None:
    write_env.update_env(project)

    mode = stat.S_IMODE((project / ".env").stat().st_mode)
    assert mode == 0o600


def test_update_env_commented_example_line_not_copied(project: Path) -> None:
    write_env.update_env(project)

    assert "DATABASE_URL" not in read_env(project)


def test_update_env_existing_lines_kept_byte_for_byte(project: Path) -> None:
    before = (
        b"# my notes\n"
        b"ENVIRONMENT=production  \n"
        b"JWT_SECRET='kept, not rotated'\n"
        b"CUSTOM=1\n"
    )
    (project / ".env").write_bytes(before)

    added = write_env.update_env(project)

    assert added == []
    assert (project / ".env").read_bytes() == before


def test_update_env_appends_only_missing_settings(project: Path) -> None:
    before = b"JWT_SECRET=mine\r\nCUSTOM=1\n"
    (project / ".env").write_bytes(before)

    added = write_env.update_env(project)

    after = (project / ".env").read_bytes()
    assert added == ["ENVIRONMENT"]
    assert after.startswith(before)
    assert after[len(before) :] == b"ENVIRONMENT=development\n"


def test_update_env_exported_setting_counts_as_present(project: Path) -> None:
    (project / ".env").write_text("export JWT_SECRET=mine\n", encoding="utf-8")

    assert write_env.update_env(project) == ["ENVIRONMENT"]
    assert read_env(project).count("JWT_SECRET") == 1


def test_update_env_second_run_adds_nothing(project: Path) -> None:
    write_env.update_env(project)
    first = (project / ".env").read_bytes()

    assert write_env.update_env(project) == []
    assert (project / ".env").read_bytes() == first


def test_update_env_no_trailing_newline_gets_one_before_appending(
    project: Path,
) -> None:
    (project / ".env").write_text("CUSTOM=1", encoding="utf-8")

    write_env.update_env(project)

    lines = read_env(project).splitlines()
    assert lines[0] == "CUSTOM=1"
    assert lines[1] == "ENVIRONMENT=development"
    assert lines[2].startswith("JWT_SECRET=dev-")


def test_update_env_without_example_does_nothing(tmp_path: Path) -> None:
    assert write_env.update_env(tmp_path) == []
    assert not (tmp_path / ".env").exists()


def test_update_env_secrets_differ_between_projects(tmp_path: Path) -> None:
    secrets = []
    for name in ("one", "two"):
        project = tmp_path / name
        project.mkdir()
        (project / ".env.example").write_text(EXAMPLE, encoding="utf-8")
        write_env.update_env(project)
        secrets.append(setting(read_env(project), "JWT_SECRET"))

    assert secrets[0] != secrets[1]


def test_main_prints_setting_names_never_values(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)

    assert write_env.main(["copy"]) == 0

    output = capsys.readouterr()
    secret = setting(read_env(project), "JWT_SECRET")
    assert "JWT_SECRET" in output.out
    assert secret not in output.out
    assert secret.removeprefix("dev-") not in output.out + output.err


def test_update_env_adds_a_fresh_session_secret_to_an_older_env(
    tmp_path: Path,
) -> None:
    """A project of release 0.1.0 has JWT_SECRET only: the update adds
    SESSION_SECRET, generated, and keeps the rest as it was."""
    (tmp_path / ".env.example").write_text(
        EXAMPLE + "SESSION_SECRET=\n", encoding="utf-8"
    )
    before = "ENVIRONMENT=development\nJWT_SECRET=the-owners-own\n"
    (tmp_path / ".env").write_text(before, encoding="utf-8")

    assert write_env.update_env(tmp_path) == ["SESSION_SECRET"]

    text = read_env(tmp_path)
    assert text.startswith(before)
    secret = setting(text, "SESSION_SECRET")
    assert secret.startswith("dev-")
    assert len(secret) >= 4 + 43  # 256 bits, base64url


# What the task says, and where: `copier update` runs it three times ---------------


def git_init(folder: Path) -> None:
    subprocess.run(["git", "init", "--quiet", str(folder)], check=True)


@pytest.mark.parametrize("operation", ["copy", "update"])
def test_main_in_a_project_appends_and_names_what_it_added(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    operation: str,
) -> None:
    git_init(project)
    monkeypatch.chdir(project)

    assert write_env.main([operation]) == 0

    assert capsys.readouterr().out == ".env: added ENVIRONMENT, JWT_SECRET\n"
    assert setting(read_env(project), "ENVIRONMENT") == "development"


def test_main_on_copy_into_a_folder_outside_git_writes_env(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A first copy lands in a folder that is no repository yet: still the project.
    monkeypatch.chdir(project)

    assert write_env.main(["copy"]) == 0

    assert capsys.readouterr().out.startswith(".env: added ")
    assert (project / ".env").is_file()


def test_main_in_an_update_scratch_copy_writes_env_and_says_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Copier's temporary copies of the old and new versions: no git repository yet.
    # Their .env must exist all the same: Copier deletes from the project what the
    # old version's copy has and the new one's lacks.
    monkeypatch.chdir(project)

    assert write_env.main(["update"]) == 0

    assert capsys.readouterr() == ("", "")
    assert setting(read_env(project), "ENVIRONMENT") == "development"


def test_main_with_nothing_missing_says_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_init(project)
    (project / ".env").write_text("ENVIRONMENT=x\nJWT_SECRET=mine\n", encoding="utf-8")
    before = (project / ".env").read_bytes()
    monkeypatch.chdir(project)

    assert write_env.main(["update"]) == 0

    assert capsys.readouterr() == ("", "")
    assert (project / ".env").read_bytes() == before


def test_main_without_git_takes_the_folder_for_the_project(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No git to tell a scratch copy from the project: better said twice than never.
    monkeypatch.chdir(project)
    monkeypatch.setenv("PATH", str(project / "no-such-folder"))

    assert write_env.main(["update"]) == 0

    assert capsys.readouterr().out.startswith(".env: added ")


def test_copier_task_passes_the_operation() -> None:
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    commands = [task["command"] for task in config["_tasks"]]
    env_task = next(c for c in commands if any("write_env.py" in p for p in c))

    assert env_task[-1] == "{{ _copier_operation }}"


OPERATION_ARGUMENT = '      - "{{ _copier_operation }}"\n'


@pytest.fixture
def released_template(tmp_path: Path) -> Path:
    """The working tree, committed and tagged twice in a clone: an update to the
    second tag renders both versions, as a real update does."""
    template = clone_working_tree(tmp_path / "template")
    tag(template, version_after_releases(0))
    git(template, "commit", "--quiet", "--allow-empty", "-m", "Next release")
    tag(template, version_after_releases(1))
    return template


@pytest.fixture
def template_after_older_task(tmp_path: Path) -> Path:
    """A clone whose first tag runs the .env task as releases up to 0.6.0 did,
    without the operation (so it writes and names its settings everywhere), and
    whose second tag is the working tree."""
    template = clone_working_tree(tmp_path / "template")
    config = template / "copier.yml"
    current = config.read_text(encoding="utf-8")
    assert OPERATION_ARGUMENT in current
    config.write_text(current.replace(OPERATION_ARGUMENT, ""), encoding="utf-8")
    git(template, "commit", "--quiet", "-am", "The task of older releases")
    tag(template, version_after_releases(0))
    config.write_text(current, encoding="utf-8")
    git(template, "commit", "--quiet", "-am", "The task of this release")
    tag(template, version_after_releases(1))
    return template


def copy_and_commit(template: Path, project: Path) -> None:
    copier.run_copy(
        src_path=str(template),
        dst_path=str(project),
        vcs_ref=version_after_releases(0),
        defaults=True,
        unsafe=True,
        quiet=True,
    )
    git(project, "init", "--quiet")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Generate the service")


def update_output(project: Path, capfd: pytest.CaptureFixture[str]) -> str:
    """What `copier update` prints (its tasks print on file descriptor 1)."""
    capfd.readouterr()
    copier.run_update(
        dst_path=str(project), defaults=True, overwrite=True, unsafe=True, quiet=True
    )
    return capfd.readouterr().out


def test_update_that_adds_nothing_says_nothing_about_env(
    released_template: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    copy_and_commit(released_template, project)
    before = (project / ".env").read_bytes()

    output = update_output(project, capfd)

    assert ".env" not in output
    assert (project / ".env").read_bytes() == before
    assert recorded_answers(project)["_commit"] == version_after_releases(1)


def test_update_names_once_what_it_added_to_the_project_env(
    released_template: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    copy_and_commit(released_template, project)
    env = project / ".env"
    kept = [
        line
        for line in env.read_text(encoding="utf-8").splitlines()
        if not line.startswith("SESSION_SECRET=")
    ]
    env.write_text("\n".join(kept) + "\n", encoding="utf-8")

    output = update_output(project, capfd)

    assert output.count(".env: added") == 1, output
    assert ".env: added SESSION_SECRET\n" in output
    assert setting(read_env(project), "SESSION_SECRET").startswith("dev-")


def test_update_from_an_older_task_keeps_the_project_env(
    template_after_older_task: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The older task writes .env in the old version's scratch copy: the new
    # version's copy must have one too, or Copier deletes the project's .env as a
    # file the template no longer makes.
    project = tmp_path / "project"
    copy_and_commit(template_after_older_task, project)
    before = (project / ".env").read_bytes()

    output = update_output(project, capfd)

    assert (project / ".env").read_bytes() == before
    assert recorded_answers(project)["_commit"] == version_after_releases(1)
    # Said once, by the older task in its scratch copy: the new one is silent.
    assert output.count(".env: added") == 1, output
