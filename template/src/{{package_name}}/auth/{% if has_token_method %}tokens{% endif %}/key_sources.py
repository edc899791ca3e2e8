"""Where the signing keys come from: the one place that tells HS256 from key files.

`SecretKeys` (HS256): `JWT_SECRET` signs, `JWT_PREVIOUS_SECRETS` still verify.
`FileKeys` (RS256, ES256, EdDSA): the PEM file `JWT_PRIVATE_KEY_FILE` signs, those
of `JWT_PREVIOUS_KEY_FILES` still verify. Both rotate by writing `.env`: a new key
becomes current, the old one joins the previous keys until it is retired.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Protocol

from dotenv import set_key
from jwt.algorithms import get_default_algorithms

from ...config import DEV_SECRET_PREFIX, Settings
from .keys import (
    Keyring,
    SigningKey,
    file_key,
    generate_private_key,
    secret_key,
    thumbprint,
    write_private_key,
)


class KeySource(Protocol):
    """Signing keys as the settings name them, and how to rotate them."""

    # The settings of the current key and of the previous keys, in .env.
    names: tuple[str, str]

    def verifying_keys(self) -> list[tuple[SigningKey, str]]:
        """Every key that verifies, the current one first, with where it is."""

    def ensure(self) -> Path | None:
        """Create a missing key file; the path of the one it created, if any."""

    def rotate(self, env_file: Path) -> tuple[str, str]:
        """Make a new current key, keep the old one verifying: (new, old) kids."""

    def retire(self, kid: str, env_file: Path) -> str:
        """Stop verifying with the previous key `kid`; says what was removed."""


def key_source(settings: Settings) -> KeySource:
    """The key source of the settings' algorithm."""
    if settings.jwt_algorithm == "HS256":
        return SecretKeys(settings)
    return FileKeys(settings)


def load_keyring(settings: Settings) -> Keyring:
    """The keys the settings name; a missing or wrong key raises ConfigError."""
    keys = [key for key, _ in key_source(settings).verifying_keys()]
    return Keyring(keys[0], {key.kid: key for key in reversed(keys)})


def ensure_private_key(settings: Settings) -> Path | None:
    """Create the private key file when the algorithm needs one and it is missing."""
    return key_source(settings).ensure()


class SecretKeys:
    """HS256: secrets in .env; a kid is a hash of its secret."""

    names = ("JWT_SECRET", "JWT_PREVIOUS_SECRETS")

    def __init__(self, settings: Settings) -> None:
        assert settings.jwt_secret is not None  # noqa: S101  (checked by Settings)
        self.current = settings.jwt_secret.get_secret_value()
        self.previous = [s.get_secret_value() for s in settings.jwt_previous_secrets]

    def verifying_keys(self) -> list[tuple[SigningKey, str]]:
        keys = [(secret_key(self.current), self.names[0])]
        return keys + [(secret_key(s), self.names[1]) for s in self.previous]

    def ensure(self) -> Path | None:
        return None  # the .env task writes the secret

    def rotate(self, env_file: Path) -> tuple[str, str]:
        dev = self.current.startswith(DEV_SECRET_PREFIX)
        new = (DEV_SECRET_PREFIX if dev else "") + secrets.token_urlsafe(32)
        _write(env_file, self.names[1], json.dumps([self.current, *self.previous]))
        _write(env_file, self.names[0], new)
        return secret_key(new).kid, secret_key(self.current).kid

    def retire(self, kid: str, env_file: Path) -> str:
        kept = [s for s in self.previous if secret_key(s).kid != kid]
        _write(env_file, self.names[1], json.dumps(kept))
        return f"a secret from {self.names[1]}"


class FileKeys:
    """RS256, ES256, EdDSA: PEM files; a kid is the RFC 7638 thumbprint."""

    names = ("JWT_PRIVATE_KEY_FILE", "JWT_PREVIOUS_KEY_FILES")

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.current = settings.private_key_path
        self.previous = list(settings.jwt_previous_key_files)

    def verifying_keys(self) -> list[tuple[SigningKey, str]]:
        paths = [self.current, *self.previous]
        return [(file_key(path, self.algorithm), str(path)) for path in paths]

    def ensure(self) -> Path | None:
        if self.current.exists():
            return None
        write_private_key(self.current, generate_private_key(self.algorithm))
        return self.current

    def rotate(self, env_file: Path) -> tuple[str, str]:
        old_kid = file_key(self.current, self.algorithm).kid
        key = generate_private_key(self.algorithm)
        jwk = get_default_algorithms()[self.algorithm].to_jwk(
            key.public_key(), as_dict=True
        )
        new_kid = thumbprint(jwk)
        name = f"jwt-{self.algorithm.lower()}-{new_kid[:12]}.pem"
        new_path = self.current.parent / name
        write_private_key(new_path, key)
        previous = [str(p) for p in (self.current, *self.previous)]
        _write(env_file, self.names[1], json.dumps(previous))
        _write(env_file, self.names[0], str(new_path))
        return new_kid, old_kid

    def retire(self, kid: str, env_file: Path) -> str:
        kept = [p for p in self.previous if file_key(p, self.algorithm).kid != kid]
        gone = [str(p) for p in self.previous if p not in kept]
        _write(env_file, self.names[1], json.dumps([str(p) for p in kept]))
        return f"{', '.join(gone)} (delete the file when you no longer need it)"


def _write(env_file: Path, name: str, value: str) -> None:
    set_key(env_file, name, value, quote_mode="always")
