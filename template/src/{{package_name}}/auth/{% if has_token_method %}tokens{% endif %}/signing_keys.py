"""Signing-key rotation for the command line: `rotate-signing-key` and friends.

Rotation writes `.env` (see `key_sources.py`): the new key becomes current, the old
one moves to the previous keys, which verify tokens until they are retired.
Retire a key once every token it signed has expired (ACCESS_TOKEN_MINUTES after
the rotation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ...config import ConfigError, Settings
from .key_sources import KeySource, key_source

ENV_FILE = Path(".env")


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    current: bool
    source: str  # "JWT_SECRET", "JWT_PREVIOUS_SECRETS" or a file path


def list_keys(settings: Settings) -> list[KeyInfo]:
    """The configured keys, current first; never a secret."""
    keys = key_source(settings).verifying_keys()
    return [
        KeyInfo(key.kid, index == 0, where) for index, (key, where) in enumerate(keys)
    ]


def rotate(settings: Settings, env_file: Path = ENV_FILE) -> tuple[str, str]:
    """Make a new current key, keep the old one for verification; (new, old) kids."""
    return _editable(settings, env_file).rotate(env_file)


def retire(settings: Settings, kid: str, env_file: Path = ENV_FILE) -> str:
    """Stop verifying with the previous key `kid`; returns what was removed."""
    source = _editable(settings, env_file)
    keys = list_keys(settings)
    if keys[0].kid == kid:
        raise ConfigError(f"{kid} is the current key; rotate first, then retire it")
    if kid not in {key.kid for key in keys}:
        raise ConfigError(f"no previous key has the kid {kid}")
    return source.retire(kid, env_file)


def _editable(settings: Settings, env_file: Path) -> KeySource:
    source = key_source(settings)
    # Variables in the environment override .env: editing the file would do nothing.
    overridden = [name for name in source.names if name in os.environ]
    if overridden:
        raise ConfigError(
            f"{', '.join(overridden)} come from the environment, which overrides"
            f" {env_file}; rotate keys where your environment is configured"
        )
    if not env_file.exists():
        raise ConfigError(
            f"{env_file} not found; run the command in the project folder"
        )
    return source
