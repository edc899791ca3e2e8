"""`nox -s release`: refuses what must not be released, tags and records the rest.

Runs the session for real, in a temporary clone (nox must be on PATH, as for every
other session of this repository).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from .template_repo import GIT_IDENTITY, clone_working_tree, git, version_after_releases


@pytest.fixture(scope="module")
def nox_command() -> list[str]:
    executable = shutil.which("nox")
    assert executable is not None, "nox is not on PATH: python3 -m pip install nox"
    return [executable]


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    return clone_working_tree(tmp_path / "template")


def release(nox: list[str], repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_IDENTITY}
    # Set when this suite itself runs under nox.
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [*nox, "--noxfile", str(repo / "noxfile.py"), "-s", "release", "--", *args],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def add_changelog_section(repo: Path, version: str, body: str) -> None:
    changelog = repo / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    first = text.index("\n## ")
    changelog.write_text(
        f"{text[: first + 1]}## {version}\n\n{body}\n{text[first:]}", encoding="utf-8"
    )
    git(repo, "commit", "--quiet", "--all", "-m", f"Changelog of {version}")


def recorded(repo: Path) -> dict[str, str]:
    text = (repo / "releases.toml").read_text(encoding="utf-8")
    releases: dict[str, str] = tomllib.loads(text)["releases"]
    return releases


@pytest.mark.parametrize(
    ("version", "message"),
    [
        pytest.param("one-point-oh", "is not a PEP 440 version", id="not-pep440"),
        pytest.param("v1.0", "normal form: 1.0", id="not-normalised"),
    ],
)
def test_release_invalid_version_refused(
    nox_command: list[str], clone: Path, version: str, message: str
) -> None:
    result = release(nox_command, clone, version)

    assert result.returncode != 0
    assert message in result.stdout
    assert git(clone, "tag", "--list") == ""


def test_release_without_changelog_section_refused(
    nox_command: list[str], clone: Path
) -> None:
    version = version_after_releases()

    result = release(nox_command, clone, version)

    assert result.returncode != 0
    assert f"CHANGELOG.md has no section for {version}" in result.stdout
    assert git(clone, "tag", "--list") == ""


def test_release_changelog_without_migration_line_refused(
    nox_command: list[str], clone: Path
) -> None:
    version = version_after_releases()
    add_changelog_section(clone, version, "Faster logins.\n")

    result = release(nox_command, clone, version)

    assert result.returncode != 0
    assert "add a `Migration:` line" in result.stdout


def test_release_dirty_tree_refused(nox_command: list[str], clone: Path) -> None:
    version = version_after_releases()
    add_changelog_section(clone, version, "Faster logins.\n\nMigration: none.\n")
    (clone / "notes.txt").write_text("not committed\n", encoding="utf-8")

    result = release(nox_command, clone, version)

    assert result.returncode != 0
    assert "uncommitted changes" in result.stdout
    assert git(clone, "tag", "--list") == ""


def test_release_tags_head_and_records_it(nox_command: list[str], clone: Path) -> None:
    version = version_after_releases()
    add_changelog_section(clone, version, "Faster logins.\n\nMigration: none.\n")
    released = git(clone, "rev-parse", "HEAD")

    result = release(nox_command, clone, version)

    assert result.returncode == 0, result.stdout
    assert git(clone, "cat-file", "-t", version) == "tag"  # annotated
    assert git(clone, "rev-parse", f"{version}^{{commit}}") == released
    assert recorded(clone)[version] == released
    # The record is one commit on top of the release, touching the record only.
    assert git(clone, "rev-parse", "HEAD~1") == released
    assert git(clone, "show", "--name-only", "--format=", "HEAD") == "releases.toml"
    assert git(clone, "status", "--porcelain") == ""


def test_release_same_or_older_version_refused(
    nox_command: list[str], clone: Path
) -> None:
    version = version_after_releases()
    add_changelog_section(clone, version, "Faster logins.\n\nMigration: none.\n")
    assert release(nox_command, clone, version).returncode == 0

    again = release(nox_command, clone, version)
    older = release(nox_command, clone, "0.0.1")

    assert again.returncode != 0
    assert f"{version} is not newer than the last release" in again.stdout
    assert older.returncode != 0
    assert "is not newer than the last release" in older.stdout
    assert list(recorded(clone)).count(version) == 1
