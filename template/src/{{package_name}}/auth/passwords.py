"""Argon2id password hashing (pwdlib) in a bounded worker pool, off the event loop."""

from __future__ import annotations

import functools
import secrets

import anyio
import anyio.to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ..config import Settings


class PasswordService:
    """Hashes and verifies passwords without ever blocking the event loop.

    Argon2 takes tens of milliseconds and a lot of memory, so at most `workers`
    hashes run at once, each in a thread; everything else waits its turn.
    """

    def __init__(self, hasher: PasswordHash, workers: int) -> None:
        self._hasher = hasher
        self._limiter = anyio.CapacityLimiter(workers)
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
        return await anyio.to_thread.run_sync(
            self._hasher.hash, password, limiter=self._limiter
        )

    async def verify_and_update(
        self, password: str, password_hash: str
    ) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash when the parameters changed."""
        return await anyio.to_thread.run_sync(
            self._hasher.verify_and_update,
            password,
            password_hash,
            limiter=self._limiter,
        )

    async def prepare(self) -> None:
        """Make the dummy hash at start-up, so the first failed login is not slower."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, for logins of unknown accounts."""
        await self.prepare()
        assert self._dummy_hash is not None  # noqa: S101  (set by prepare)
        await anyio.to_thread.run_sync(
            functools.partial(self._hasher.verify, password, self._dummy_hash),
            limiter=self._limiter,
        )
