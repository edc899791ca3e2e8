"""Run Alembic migrations from code (`alembic upgrade heads`)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from .config import ConfigError, Settings


def alembic_config(settings: Settings, ini_path: Path | None = None) -> Config:
    """Alembic's configuration for this project, pointed at `settings.database_url`."""
    path = ini_path or find_alembic_ini()
    config = Config(str(path))
    # Passed as an attribute, not an ini option: URLs may hold "%" characters.
    config.attributes["database_url"] = settings.database_url
    return config


def find_alembic_ini() -> Path:
    candidates = [Path.cwd(), Path(__file__).resolve().parents[2]]
    for folder in candidates:
        if (folder / "alembic.ini").is_file():
            return folder / "alembic.ini"
    raise ConfigError(
        "alembic.ini not found; run the command from the project's folder"
    )


def upgrade(settings: Settings, *, quiet: bool = False) -> None:
    """Bring the database up to date: every branch to its head. `quiet` keeps
    Alembic's log to warnings (and leaves the logging configuration alone)."""
    config = alembic_config(settings)
    if not quiet:
        command.upgrade(config, "heads")
        return
    config.attributes["configure_logger"] = False
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        command.upgrade(config, "heads")
    finally:
        alembic_log.setLevel(level)
