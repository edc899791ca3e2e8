"""Append every missing setting to the project's `.env`, with fresh secrets.

Run by Copier as a task on copy and on every update, in the rendered project's folder.
`.env.example` (rendered from the answers) lists the settings: each active `KEY=value`
line there that `.env` lacks is appended, secrets with a fresh random value. Existing
lines are never rewritten, so `copier update` keeps every secret and every user edit,
and re-answering to add a method adds what the new method needs.

Idempotent and offline; prints setting names only, never a value, and only when it
appended some. Standard library only: Copier's interpreter is all this script can
count on.

Usage: write_env.py [OPERATION], OPERATION being Copier's `_copier_operation`
(`copy` when not given). During `copier update` Copier also renders the old and the
new template versions into temporary folders and runs its tasks there: those runs
are not the project, so this script says nothing there. It still writes their .env:
Copier deletes from the project every file that the old version's copy has and the
new one's lacks, git-ignored files included, and the old version's task always
made one.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

# Settings whose value is generated here rather than copied from .env.example.
# A "dev-" prefix marks secrets made for a development checkout: the service refuses
# them when ENVIRONMENT=production, so a laptop's .env cannot become production's.
SECRET_SETTINGS = frozenset({"JWT_SECRET", "SESSION_SECRET"})
DEV_SECRET_PREFIX = "dev-"  # noqa: S105  (a marker, not a secret)
SECRET_BYTES = 32  # 256 bits

HEADER = """\
# Local settings and secrets for development. Git-ignored; never commit this file.
# `copier update` only appends settings that are missing and never rewrites a line.
# Every setting is documented in .env.example.
"""

_SETTING = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def setting_names(text: str) -> list[str]:
    """Names of the active (uncommented) settings in dotenv text, in order."""
    names: list[str] = []
    for line in text.splitlines():
        match = _SETTING.match(line)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


def example_values(text: str) -> dict[str, str]:
    """Active `KEY=value` pairs of .env.example (values taken verbatim)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _SETTING.match(line)
        if match:
            values.setdefault(match.group(1), line[match.end() :].strip())
    return values


def new_secret() -> str:
    return DEV_SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def missing_lines(example: str, current: str) -> list[str]:
    """The lines to append to `current` so that it has every setting of `example`."""
    present = set(setting_names(current))
    lines = []
    for name, value in example_values(example).items():
        if name in present:
            continue
        lines.append(f"{name}={new_secret() if name in SECRET_SETTINGS else value}")
    return lines


def update_env(project: Path) -> list[str]:
    """Bring `project/.env` up to date with `.env.example`; return the added names."""
    example_path = project / ".env.example"
    env_path = project / ".env"
    if not example_path.is_file():
        return []
    example = example_path.read_text(encoding="utf-8")
    current = env_path.read_text(encoding="utf-8") if env_path.exists() else ""
    lines = missing_lines(example, current)
    if not lines and env_path.exists():
        return []
    prefix = "" if current else HEADER
    if current and not current.endswith("\n"):
        prefix = "\n"
    # Created 0600: the file holds secrets. Appending never truncates what is there.
    fd = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as env_file:
        env_file.write(prefix + "".join(line + "\n" for line in lines))
    return [line.split("=", 1)[0] for line in lines]


def in_git_work_tree(folder: Path) -> bool:
    """Whether `folder` is inside a git working tree, as Copier itself checks it."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],  # noqa: S607  (git from PATH, like Copier)
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    except OSError:
        return True  # no git to ask: take it for the project (see is_update_scratch)
    return found.returncode == 0


def is_update_scratch(folder: Path, operation: str) -> bool:
    """Whether `folder` is one of the temporary copies of `copier update`.

    Copier updates git-tracked projects only, and its temporary copies of the old
    and new template versions become git repositories only after their tasks ran.
    When in doubt this says no (and the update names a setting twice).
    """
    return operation == "update" and not in_git_work_tree(folder)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    operation = args[0] if args else "copy"
    folder = Path.cwd()
    # Written in a scratch copy too (see the module's docstring), never named there.
    added = update_env(folder)
    if added and not is_update_scratch(folder, operation):
        print(f".env: added {', '.join(added)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
