"""Revocations in a Redis stream, which every replica reads as entries arrive.

XADD appends an entry with an id that Redis assigns when it writes it, so ids are
in commit order: unlike a database cursor (see auth/core/revocation.py), a cursor
over the stream can never pass an entry it has not read. Each replica waits on the
stream with a blocking XREAD from its cursor: a revocation reaches it within one
round trip, and an XREAD that comes back empty after REVOCATION_SYNC_SECONDS still
proves the mirror fresh. A replica that cannot read (Redis down) fails closed once
its mirror is older than the bound (RevocationList.max_staleness); when Redis comes
back, it reads on from its cursor.

A stopped-and-emptied Redis loses its revocations: run it with persistence (AOF or
RDB) in production, as for the refresh families.
"""

from __future__ import annotations

import time
from typing import cast

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.revocation import Entry
from .client import UNAVAILABLE

# Entries are trimmed once older than the longest revocation, plus this margin.
TRIM_MARGIN_SECONDS = 60
# Entries read at most per XREAD.
BATCH = 1000
# What XREAD answers per stream (RESP2): (id, fields) pairs.
Messages = list[tuple[str, dict[str, str]]]


class RedisRevocations:
    """The revocation stream `<prefix>:revocations`."""

    def __init__(self, redis: Redis, reader: Redis, prefix: str) -> None:
        self._redis = redis
        # Its own connection, with a socket timeout longer than its blocking reads.
        self._reader = reader
        self.key = f"{prefix}:revocations"
        self._cursor = "0-0"

    async def record(self, db: AsyncSession, entry: Entry) -> None:
        # Revocation first: if Redis is down the change is not committed either.
        await self._redis.xadd(
            self.key,
            {
                "kind": entry.kind,
                "value": entry.value,
                "not_before": entry.not_before,
                "expires_at": entry.expires_at,
            },
        )
        await db.commit()

    async def read_new(self, wait_seconds: float) -> list[Entry]:
        entries: list[Entry] = []
        block = int(wait_seconds * 1000) or None
        while True:
            batch = await self._read(block)
            entries += batch
            if len(batch) < BATCH:
                return entries
            block = None  # more are waiting: read them at once

    async def _read(self, block: int | None) -> list[Entry]:
        response = await self._reader.xread(
            {self.key: self._cursor}, count=BATCH, block=block
        )
        entries = []
        for _stream, messages in cast("list[tuple[str, Messages]]", response or []):
            for message_id, fields in messages:
                entries.append(
                    Entry(
                        fields["kind"],
                        fields["value"],
                        int(fields["not_before"]),
                        int(fields["expires_at"]),
                    )
                )
                self._cursor = message_id
        return entries

    def is_unavailable(self, error: BaseException) -> bool:
        return isinstance(error, UNAVAILABLE)

    async def prune(self, keep_seconds: int) -> None:
        # Stream ids start with the time of their XADD, in milliseconds.
        oldest = int((time.time() - keep_seconds - TRIM_MARGIN_SECONDS) * 1000)
        await self._redis.xtrim(self.key, minid=oldest, approximate=False)
