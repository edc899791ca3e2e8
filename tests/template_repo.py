"""Temporary clones of the template repository, tagged by the tests themselves.

Git tags may not travel with a push or a clone, so no test relies on the tags of the
repository under test: a clone gets every commit, loses every tag, and the test tags
exactly the versions it needs (the releases recorded in `releases.toml`, and the
working tree, committed in the clone).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml
from packaging.version import Version

from .helpers import REPO_ROOT

RELEASES_FILE = "releases.toml"

# Commits in temporary repositories need an identity, whatever the machine's git
# configuration says.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`; its output, stripped. Fails the test with git's message."""
    result = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"git {' '.join(args)}:\n{result.stderr}"
    return result.stdout.strip()


def recorded_releases(root: Path = REPO_ROOT) -> dict[str, str]:
    """The releases file of `root`: version -> full commit hash, oldest first."""
    path = root / RELEASES_FILE
    if not path.is_file():
        return {}
    releases: dict[str, str] = tomllib.loads(path.read_text(encoding="utf-8")).get(
        "releases", {}
    )
    return dict(sorted(releases.items(), key=lambda item: Version(item[0])))


def clone_working_tree(destination: Path) -> Path:
    """A clone of the repository whose HEAD is the working tree as it is now.

    Uncommitted and untracked (not ignored) files are copied over the clone and
    committed there: Copier records the commit a project was rendered from, and a
    commit that exists only in a dirty working tree cannot be rendered again by
    `copier update`. The clone has the repository's history and no tags.
    """
    git(REPO_ROOT, "clone", "--quiet", "--no-local", str(REPO_ROOT), str(destination))
    tags = git(destination, "tag", "--list").split()
    if tags:
        git(destination, "tag", "--delete", *tags)
    listed = git(
        REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"
    )
    for name in sorted(set(filter(None, listed.split("\0")))):
        source, target = REPO_ROOT / name, destination / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.is_file():  # deleted in the working tree, not yet committed
            target.unlink()
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "--allow-empty", "-m", "Working tree")
    return destination


def tag(repo: Path, version: str, commit: str = "HEAD") -> None:
    """An annotated tag, as `nox -s release` makes them."""
    git(repo, "tag", "--annotate", "-m", f"Release {version}", version, commit)


def tag_releases(repo: Path) -> dict[str, str]:
    """Tag, in the clone `repo`, every release recorded in the working tree."""
    releases = recorded_releases()
    for version, commit in releases.items():
        kind = subprocess.run(
            ["git", "cat-file", "-t", commit],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
        assert kind.stdout.strip() == "commit", (
            f"release {version}: commit {commit} is not in the repository's history"
            " (a shallow clone? git fetch --unshallow)"
        )
        tag(repo, version, commit)
    return releases


def version_after_releases(minor: int = 0) -> str:
    """A version newer than every recorded release and every migration in copier.yml.

    The working tree stands for the next release: it gets this version in a clone,
    so that `copier update` runs every migration up to and including it.
    """
    config = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    versions = [Version(v) for v in recorded_releases()]
    versions += [
        Version(str(migration["version"]))
        for migration in config.get("_migrations") or []
        if isinstance(migration, dict) and "version" in migration
    ]
    major = max((v.major for v in versions), default=0) + 1
    return f"{major}.{minor}.0"
