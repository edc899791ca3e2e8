"""Password rules of OWASP ASVS 5.0 V6: length, no composition rules, no common ones.

Every password the API accepts goes through `password_problem`. Messages never
repeat the password.
"""

from __future__ import annotations

import functools
from importlib.resources import files

MIN_LENGTH = 8
MAX_LENGTH = 1024  # caps hashing work; far above the 64 ASVS asks to accept
# A common word followed by this many digits or symbols at most ("letmein!",
# "dragon2024!") is among the first guesses of any cracking rule set.
MAX_SUFFIX = 6


@functools.cache
def common_passwords() -> frozenset[str]:
    """The refused passwords, lower case (30,000+ from zxcvbn's list; see the file)."""
    text = files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _candidates(lowered: str) -> set[str]:
    """`lowered`, and the same without a short tail of digits and symbols."""
    end = len(lowered)
    while end and not lowered[end - 1].isalpha():
        end -= 1
    if end and len(lowered) - end <= MAX_SUFFIX:
        return {lowered, lowered[:end]}
    return {lowered}


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why `password` is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password must have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Password must have at most {MAX_LENGTH} characters."
    candidates = _candidates(password.lower())
    if not candidates.isdisjoint(common_passwords()):
        return "Password is too common; choose another."
    if email:
        address = email.lower()
        if not candidates.isdisjoint({address, address.partition("@")[0]}):
            return "Password must not be your email address."
    return None
