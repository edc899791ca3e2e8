"""Access-token signing keys: loaded from settings, created when missing, published.

HS256 signs with a secret, RS256, ES256 and EdDSA with a PEM private key
(`key_sources.py` says which settings hold them). Each key has a `kid`: the RFC 7638
thumbprint of its public key, or a hash of the secret (never the secret itself).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from ...config import ConfigError

MIN_RSA_BITS = 2048
# RFC 7638 §3.2: the members of the thumbprint, per key type.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}
_THUMBPRINT_MEMBERS["OKP"] = ("crv", "kty", "x")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A key that signs our access tokens and verifies them, pinned to one algorithm."""

    kid: str
    algorithm: str
    signing_key: Any
    verifying_key: Any
    public_jwk: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Keyring:
    """The current signing key, and every key that still verifies, by `kid`."""

    current: SigningKey
    verifiers: dict[str, SigningKey]


def secret_key(secret: str) -> SigningKey:
    """An HS256 key; its kid is a hash of the secret."""
    raw = secret.encode()
    digest = hashlib.sha256(b"jwt-kid:" + raw).digest()[:12]
    return SigningKey(_b64url(digest), "HS256", raw, raw)


def file_key(path: Path, algorithm: str) -> SigningKey:
    """An asymmetric key from a PEM file; its kid is the RFC 7638 thumbprint."""
    private_key = _read_private_key(path, algorithm)
    jwk = get_default_algorithms()[algorithm].to_jwk(
        private_key.public_key(), as_dict=True
    )
    kid = thumbprint(jwk)
    jwk |= {"kid": kid, "alg": algorithm, "use": "sig"}
    return SigningKey(kid, algorithm, private_key, private_key.public_key(), jwk)


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def generate_private_key(algorithm: str, *, rsa_bits: int = 3072) -> PrivateKey:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"{algorithm} does not use a private key file")


def write_private_key(path: Path, key: PrivateKey) -> None:
    """Write `key` as PEM, 0600 in a 0700 folder; never overwrites a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as key_file:
        key_file.write(pem)


def _read_private_key(path: Path, algorithm: str) -> PrivateKey:
    fix = "point JWT_PRIVATE_KEY_FILE at a matching key, or remove the file and run"
    fix += " `serve` to create one"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"JWT_PRIVATE_KEY_FILE: {path} does not exist; run `serve` to create it"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"JWT_PRIVATE_KEY_FILE: {path} cannot be read ({exc.strerror})"
        ) from None
    try:
        key = _load_pem(data)
    except (ValueError, TypeError):
        raise ConfigError(
            f"JWT_PRIVATE_KEY_FILE: {path} is not an unencrypted PEM private key; {fix}"
        ) from None
    expected = {
        "RS256": "an RSA key of 2048 bits or more",
        "ES256": "an EC P-256 key",
        "EdDSA": "an Ed25519 key",
    }[algorithm]
    if algorithm == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        if key.key_size >= MIN_RSA_BITS:
            return key
    elif algorithm == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP256R1):
            return key
    elif algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise ConfigError(
        f"JWT_PRIVATE_KEY_FILE: {path} does not match JWT_ALGORITHM={algorithm},"
        f" which needs {expected}; {fix}"
    )


@functools.lru_cache(maxsize=8)
def _load_pem(data: bytes) -> object:
    # Parsing checks an RSA key's consistency, which takes tens of milliseconds:
    # worth remembering when apps are built repeatedly (tests, reloads).
    return serialization.load_pem_private_key(data, password=None)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
