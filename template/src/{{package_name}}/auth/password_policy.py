"""Password rules of OWASP ASVS 5.0 V6: length, no composition rules, no common ones.

Messages never repeat the password.
"""

from __future__ import annotations

import functools
from importlib.resources import files

MIN_LENGTH = 8
MAX_LENGTH = 1024  # caps hashing work; far above the 64 ASVS asks to accept


@functools.cache
def common_passwords() -> frozenset[str]:
    text = files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why `password` is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password must have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Password must have at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in common_passwords():
        return "Password is too common; choose another."
    if email and lowered in {email.lower(), email.lower().partition("@")[0]}:
        return "Password must not be your email address."
    return None
