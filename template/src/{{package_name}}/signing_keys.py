"""Signing-key rotation for the command line: `rotate-signing-key` and friends.

Rotation writes `.env`: the new key becomes current, the old one moves to the
previous keys, which verify tokens until they are retired. Retire a key once every
token it signed has expired (ACCESS_TOKEN_MINUTES after the rotation).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from dotenv import set_key
from jwt.algorithms import get_default_algorithms

from .auth.keys import (
    file_key,
    generate_private_key,
    secret_key,
    thumbprint,
    write_private_key,
)
from .config import DEV_SECRET_PREFIX, ConfigError, Settings

ENV_FILE = Path(".env")


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    current: bool
    source: str  # "JWT_SECRET", "JWT_PREVIOUS_SECRETS" or a file path


def list_keys(settings: Settings) -> list[KeyInfo]:
    """The configured keys, current first; never a secret."""
    if settings.jwt_algorithm == "HS256":
        assert settings.jwt_secret is not None  # noqa: S101  (checked by Settings)
        keys = [
            KeyInfo(
                secret_key(settings.jwt_secret.get_secret_value()).kid,
                True,
                "JWT_SECRET",
            )
        ]
        keys += [
            KeyInfo(secret_key(s.get_secret_value()).kid, False, "JWT_PREVIOUS_SECRETS")
            for s in settings.jwt_previous_secrets
        ]
        return keys
    algorithm = settings.jwt_algorithm
    path = settings.private_key_path
    keys = [KeyInfo(file_key(path, algorithm).kid, True, str(path))]
    keys += [
        KeyInfo(file_key(p, algorithm).kid, False, str(p))
        for p in settings.jwt_previous_key_files
    ]
    return keys


def rotate(settings: Settings, env_file: Path = ENV_FILE) -> tuple[str, str]:
    """Make a new current key, keep the old one for verification; (new, old) kids."""
    _check_env_file_rules(settings, env_file)
    if settings.jwt_algorithm == "HS256":
        assert settings.jwt_secret is not None  # noqa: S101  (checked by Settings)
        old = settings.jwt_secret.get_secret_value()
        prefix = DEV_SECRET_PREFIX if old.startswith(DEV_SECRET_PREFIX) else ""
        new = prefix + secrets.token_urlsafe(32)
        previous = [old] + [s.get_secret_value() for s in settings.jwt_previous_secrets]
        _write(env_file, "JWT_PREVIOUS_SECRETS", json.dumps(previous))
        _write(env_file, "JWT_SECRET", new)
        return secret_key(new).kid, secret_key(old).kid
    algorithm = settings.jwt_algorithm
    old_path = settings.private_key_path
    old_kid = file_key(old_path, algorithm).kid
    key = generate_private_key(algorithm)
    jwk = get_default_algorithms()[algorithm].to_jwk(key.public_key(), as_dict=True)
    new_kid = thumbprint(jwk)
    new_path = old_path.parent / f"jwt-{algorithm.lower()}-{new_kid[:12]}.pem"
    write_private_key(new_path, key)
    previous = [str(old_path)] + [str(p) for p in settings.jwt_previous_key_files]
    _write(env_file, "JWT_PREVIOUS_KEY_FILES", json.dumps(previous))
    _write(env_file, "JWT_PRIVATE_KEY_FILE", str(new_path))
    return new_kid, old_kid


def retire(settings: Settings, kid: str, env_file: Path = ENV_FILE) -> str:
    """Stop verifying with the previous key `kid`; returns what was removed."""
    _check_env_file_rules(settings, env_file)
    keys = list_keys(settings)
    if keys[0].kid == kid:
        raise ConfigError(f"{kid} is the current key; rotate first, then retire it")
    if kid not in {key.kid for key in keys}:
        raise ConfigError(f"no previous key has the kid {kid}")
    if settings.jwt_algorithm == "HS256":
        remaining = [
            s.get_secret_value()
            for s in settings.jwt_previous_secrets
            if secret_key(s.get_secret_value()).kid != kid
        ]
        _write(env_file, "JWT_PREVIOUS_SECRETS", json.dumps(remaining))
        return "a secret from JWT_PREVIOUS_SECRETS"
    algorithm = settings.jwt_algorithm
    kept = [
        str(p)
        for p in settings.jwt_previous_key_files
        if file_key(p, algorithm).kid != kid
    ]
    gone = [str(p) for p in settings.jwt_previous_key_files if str(p) not in kept]
    _write(env_file, "JWT_PREVIOUS_KEY_FILES", json.dumps(kept))
    return f"{', '.join(gone)} (delete the file when you no longer need it)"


def _check_env_file_rules(settings: Settings, env_file: Path) -> None:
    # Variables in the environment override .env: editing the file would do nothing.
    names = ("JWT_SECRET", "JWT_PREVIOUS_SECRETS")
    if settings.jwt_algorithm != "HS256":
        names = ("JWT_PRIVATE_KEY_FILE", "JWT_PREVIOUS_KEY_FILES")
    overridden = [name for name in names if name in os.environ]
    if overridden:
        raise ConfigError(
            f"{', '.join(overridden)} come from the environment, which overrides"
            f" {env_file}; rotate keys where your environment is configured"
        )
    if not env_file.exists():
        raise ConfigError(
            f"{env_file} not found; run the command in the project folder"
        )


def _write(env_file: Path, name: str, value: str) -> None:
    set_key(env_file, name, value, quote_mode="always")
