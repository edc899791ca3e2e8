"""Argon2id password hashing (pwdlib) in a bounded worker pool, off the event loop."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ...config import Settings

T = TypeVar("T")
# Hashing threads yield the CPU to the event loop's thread (Linux: per thread), by
# this much more niceness than the process has (19 at most).
HASHING_NICENESS = 10
MAX_NICENESS = 19


def _lower_priority() -> None:
    if sys.platform == "linux":
        # Relative: a service already started with `nice` keeps the gap (an absolute
        # value could even ask for a higher priority, which is refused).
        niceness = os.getpriority(os.PRIO_PROCESS, 0) + HASHING_NICENESS
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(niceness, MAX_NICENESS))


class PasswordService:
    """Hashes and verifies passwords without ever blocking the event loop.

    Argon2 takes tens of milliseconds and a lot of memory, so at most `workers`
    hashes run at once, each in a thread of its own pool; the rest wait their turn.
    On Linux those threads run at a lower priority, so that requests that need no
    hashing stay fast while logins are under way.
    """

    def __init__(self, hasher: PasswordHash, workers: int) -> None:
        self._hasher = hasher
        self._pool = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="password-hashing",
            initializer=_lower_priority,
        )
        self._dummy_hash: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordService:
        hasher = Argon2Hasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        )
        return cls(PasswordHash((hasher,)), settings.password_hash_workers)

    async def hash(self, password: str) -> str:
        return await self._run(functools.partial(self._hasher.hash, password))

    async def verify_and_update(
        self, password: str, password_hash: str | None
    ) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash when the parameters changed.
        An account without a password (None) never matches, in the same time."""
        if password_hash is None:
            await self.verify_dummy(password)
            return False, None
        return await self._run(
            functools.partial(self._hasher.verify_and_update, password, password_hash)
        )

    async def prepare(self) -> None:
        """Make the dummy hash at start-up, so the first failed login is not slower."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, for logins of unknown accounts."""
        await self.prepare()
        assert self._dummy_hash is not None  # noqa: S101  (set by prepare)
        await self._run(
            functools.partial(self._hasher.verify, password, self._dummy_hash)
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)
