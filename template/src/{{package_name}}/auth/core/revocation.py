"""Revoked access tokens, checked on every request from memory.

Every method checks credentials here without reading the database: access tokens
are stateless, and API keys and Basic credentials, once verified, are kept in memory
for up to CACHE_SECONDS. What ends them early is a row here: a token id (`jti`,
logout), a session (`sid`, a revoked refresh family), an API key (`key`) or a user
(every credential proved before a moment: password, role or status change, deletion;
tokens die, cached keys and passwords are checked against the database again). Rows
are written to the token store, so revocations survive a restart, and applied to
this process at once. Other processes read them from the store: from the database
every REVOCATION_SYNC_SECONDS (the staleness bound across replicas, for every
method), or, with Redis as the token store, as soon as they are written.

A row lives until every credential it covers is dead to the verifier, leeway
included: forgotten at a token's `exp`, it would let the token back in for the
verifier's leeway; forgotten before a cached credential is read again, it would
leave that cache stale.

In the database, other processes read new rows through a cursor over `id`, which
must never pass a row they have not seen:
- ids are never reused. SQLite reuses the ids of deleted top rows unless the table
  is AUTOINCREMENT; pruning expired rows would then hand out ids a running process
  has already passed, and it would never see those revocations.
- ids are not committed in order everywhere: PostgreSQL takes a sequence value at
  INSERT, so a transaction holding id 10 may commit after one holding id 11. Each
  sync therefore re-reads every row above the cursor of LATE_COMMIT_SECONDS ago;
  applying a revocation twice changes nothing.

Whatever the store, if no sync has succeeded for a while, the revocations in
memory may be missing some: requests then fail closed (503) rather than let
revoked tokens in.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import anyio
from sqlalchemy import Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from ...db import Base, is_unavailable
from .errors import RevocationsUnavailable

logger = logging.getLogger(__name__)

Kind = Literal["jti", "sid", "key", "user"]
# How late, after taking its id, a transaction may commit and still be seen.
LATE_COMMIT_SECONDS = 60.0
# The longest a method keeps a verified credential (API key, Basic) in memory before
# it reads the database again.
CACHE_SECONDS = 60
# How long a failing sync waits before it tries again.
RETRY_SECONDS = 1.0
# How often a running service forgets the revocations that have expired.
PRUNE_SECONDS = 600


class Revocation(Base):
    __tablename__ = "revocations"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids never reused: see above

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(64))
    # For kind "user": tokens issued before this unix time are dead.
    not_before: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[int] = mapped_column(index=True)


@dataclass(frozen=True, slots=True)
class Entry:
    """One revocation, as every store keeps it."""

    kind: str
    value: str
    not_before: int
    expires_at: int


class RevocationStore(Protocol):
    """Where revocations are kept, shared by every process of the service."""

    async def record(self, db: AsyncSession, entry: Entry) -> None:
        """Keep `entry`, then commit `db` (the change that caused it goes with it,
        or after it: never a change without its revocation)."""

    async def read_new(self, wait_seconds: float) -> Sequence[Entry]:
        """Entries recorded since the last read, by any process. May wait up to
        `wait_seconds` for one (0: answer at once)."""

    async def prune(self, keep_seconds: int) -> None:
        """Forget entries whose credentials are all dead, leeway included; none
        is needed longer than `keep_seconds` after it was recorded."""

    def is_unavailable(self, error: BaseException) -> bool:
        """Whether `error` says the store cannot be reached now (not a bug)."""


class DatabaseRevocations:
    """Revocations in the `revocations` table, read through a cursor over `id`."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._cursor = 0
        # (when a read ran, the highest id it read): the cursor follows them late.
        self._reads: deque[tuple[float, int]] = deque()

    async def record(self, db: AsyncSession, entry: Entry) -> None:
        db.add(
            Revocation(
                kind=entry.kind,
                value=entry.value,
                not_before=entry.not_before,
                expires_at=entry.expires_at,
            )
        )
        await db.commit()  # one transaction: the change and its revocation

    async def read_new(self, wait_seconds: float) -> list[Entry]:
        if wait_seconds:
            await anyio.sleep(wait_seconds)  # no news without asking: poll
        highest = self._cursor
        entries = []
        async with self._sessionmaker() as db:
            rows = await db.scalars(
                select(Revocation)
                .where(Revocation.id > self._cursor)
                .order_by(Revocation.id)
            )
            for row in rows:
                entries.append(
                    Entry(row.kind, row.value, row.not_before, row.expires_at)
                )
                highest = max(highest, row.id)
        now = self._clock()
        self._reads.append((now, highest))
        while self._reads and self._reads[0][0] <= now - LATE_COMMIT_SECONDS:
            self._cursor = max(self._cursor, self._reads.popleft()[1])
        return entries

    def is_unavailable(self, error: BaseException) -> bool:
        return is_unavailable(error)

    async def prune(self, keep_seconds: int) -> None:
        async with self._sessionmaker() as db:
            await db.execute(
                delete(Revocation).where(Revocation.expires_at < int(time.time()))
            )
            await db.commit()


class RevocationList:
    """The revocations in force, mirrored in memory; O(1) per request."""

    def __init__(
        self,
        store: RevocationStore,
        sync_seconds: float,
        *,
        token_lifetime_seconds: int = 0,
        leeway_seconds: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.sync_seconds = sync_seconds
        # The tokens' verifier accepts them this long past `exp`.
        self.leeway_seconds = leeway_seconds
        # A user revocation must outlive every credential proved before it.
        self.user_cover_seconds = max(token_lifetime_seconds, CACHE_SECONDS)
        # Past this age, the mirror may be missing revocations: fail closed.
        self.max_staleness = max(3 * sync_seconds, sync_seconds + 10)
        self._clock = clock
        # Revoked token, session and key ids (random, so one table): when to forget.
        self._ids: dict[str, int] = {}
        self._users: dict[str, tuple[int, int]] = {}
        self._synced_at: float | None = None

    @property
    def longest_cover_seconds(self) -> int:
        """The longest a revocation must be kept after it was recorded."""
        return self.user_cover_seconds + self.leeway_seconds

    @property
    def is_fresh(self) -> bool:
        """Whether the mirror was synced within `max_staleness` (else requests that
        need it are refused with 503)."""
        synced_at = self._synced_at
        return synced_at is not None and self._clock() - synced_at <= self.max_staleness

    def is_revoked(self, subject: str, proved_at: int, *ids: str) -> bool:
        """Whether a credential of `subject` proved at `proved_at` (a token's `iat`,
        a cache entry's load time), or known by one of `ids`, is revoked.

        Raises RevocationsUnavailable when the mirror is stale.
        """
        synced_at = self._synced_at
        if synced_at is None or self._clock() - synced_at > self.max_staleness:
            raise RevocationsUnavailable("revocations not synced recently")
        revoked = self._ids
        for value in ids:
            if value in revoked:
                return True
        user = self._users.get(subject)
        return user is not None and proved_at < user[0]

    async def revoke(
        self,
        db: AsyncSession,
        kind: Kind,
        value: str,
        *,
        covers_until: int,
        not_before: int = 0,
    ) -> None:
        """Record a revocation of tokens expiring by `covers_until` (commits `db`);
        apply it here at once."""
        entry = Entry(kind, value, not_before, covers_until + self.leeway_seconds)
        await self.store.record(db, entry)
        self._apply(entry)

    async def revoke_user(
        self, db: AsyncSession, user_id: str, *, deleted: bool = False
    ) -> None:
        """End every credential of the account proved until now (commits `db`): its
        tokens die, its cached keys and passwords are checked again."""
        now = int(time.time())
        await self.revoke(
            db,
            "user",
            user_id,
            # A deleted account's credentials of this very second die too.
            not_before=now + 1 if deleted else now,
            covers_until=now + self.user_cover_seconds,
        )

    async def sync(self, wait_seconds: float = 0) -> None:
        """Apply revocations recorded since the last sync (by any process)."""
        for entry in await self.store.read_new(wait_seconds):
            self._apply(entry)
        self._synced_at = self._clock()
        self._forget_expired(int(time.time()))

    async def start(self) -> None:
        """Prune and sync once, as the service starts. A store that does not answer
        yet leaves the mirror unsynced: requests that need it fail closed (503)
        until `run` syncs."""
        try:
            await self.prune()
            await self.sync()
        except Exception as exc:  # the service starts, and recovers with the store
            if not self.store.is_unavailable(exc):
                raise
            logger.warning(
                "revocations not synced at start-up (%s); requests fail closed"
                " until they are",
                type(exc).__name__,
            )

    async def prune(self) -> None:
        """Forget stored revocations whose tokens are all dead, leeway included."""
        await self.store.prune(self.longest_cover_seconds)

    async def run(self) -> None:
        """Sync forever, every `sync_seconds` at most (run it in the app's lifespan)."""
        failing = False
        pruned_at = self._clock()
        while True:
            try:
                await self.sync(self.sync_seconds)
                if self._clock() - pruned_at > PRUNE_SECONDS:
                    await self.prune()
                    pruned_at = self._clock()
            except Exception as exc:  # a store hiccup must not stop the syncing
                if not self.store.is_unavailable(exc):
                    logger.exception("revocation sync failed")
                elif not failing:  # expected while the store is down: one line
                    logger.warning(
                        "revocation sync failed: the token store is unavailable (%s);"
                        " requests fail closed after %.0f s without a sync",
                        type(exc).__name__,
                        self.max_staleness,
                    )
                    failing = True
                await anyio.sleep(RETRY_SECONDS)
            else:
                if failing:
                    logger.warning("revocation sync works again")
                failing = False

    def _apply(self, entry: Entry) -> None:
        if entry.kind != "user":
            expires_at = max(self._ids.get(entry.value, 0), entry.expires_at)
            self._ids[entry.value] = expires_at
        else:
            previous = self._users.get(entry.value, (0, 0))
            self._users[entry.value] = (
                max(previous[0], entry.not_before),
                max(previous[1], entry.expires_at),
            )

    def _forget_expired(self, now: int) -> None:
        for key in [k for k, expires_at in self._ids.items() if expires_at < now]:
            del self._ids[key]
        for key in [k for k, (_, exp) in self._users.items() if exp < now]:
            del self._users[key]
