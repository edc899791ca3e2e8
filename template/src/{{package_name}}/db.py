"""Async SQLAlchemy: the declarative base, the engine and the session dependency."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event, make_url
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from .config import Settings
from .resources import resource

# Stable constraint names, so that migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite stores no offset and gives naive datetimes back: they are UTC, say so.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


@dataclass(frozen=True)
class PoolOptions:
    """The connection pool of a database server (SQLite has none to size)."""

    size: int = 5
    max_overflow: int = 10
    # How long a request waits for a free connection before it is refused (503).
    timeout_seconds: float = 10
    connect_timeout_seconds: float = 5
    # A statement that takes longer is cancelled (asyncpg's command_timeout).
    command_timeout_seconds: float = 30


def create_engine(database_url: str, pool: PoolOptions | None = None) -> AsyncEngine:
    """An engine for `database_url`; SQLite gets foreign keys, WAL, a busy timeout,
    and a database file that only its owner can read; a server gets a bounded pool
    and timeouts (`pool`, or the defaults)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, pool_pre_ping=True)
        _private_database_file(database_url)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    pool = pool or PoolOptions()
    connect_args: dict[str, Any] = {}
    if url.get_driver_name() == "asyncpg":
        connect_args = {
            "timeout": pool.connect_timeout_seconds,
            "command_timeout": pool.command_timeout_seconds,
        }
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_seconds,
        connect_args=connect_args,
    )


def engine_for(settings: Settings) -> AsyncEngine:
    """The engine of the service: DATABASE_URL with the pool settings."""
    pool = PoolOptions(
        size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        timeout_seconds=settings.database_pool_timeout_seconds,
        connect_timeout_seconds=settings.database_connect_timeout_seconds,
        command_timeout_seconds=settings.database_command_timeout_seconds,
    )
    return create_engine(settings.database_url, pool)


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached now (down, restarting,
    out of connections), rather than that a statement is wrong.

    The service answers these with 503 and Retry-After; anything else is a bug.
    """
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
            return True
        # The driver's own error, which SQLAlchemy's adapter keeps as the cause.
        cause = error.orig.__cause__ if error.orig is not None else None
        if cause is not None and is_unavailable(cause):
            return True
        return _is_connection_error(error.orig)
    return _is_connection_error(error)


# SQLite's primary result codes for a file that is busy past the busy timeout, or
# cannot be opened or read: the embedded database's "cannot connect".
SQLITE_UNAVAILABLE = frozenset(
    {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN}
)


def _is_connection_error(error: BaseException | None) -> bool:
    if isinstance(error, OSError | TimeoutError):  # refused, reset, timed out
        return True
    if isinstance(error, sqlite3.Error):
        return (error.sqlite_errorcode & 0xFF) in SQLITE_UNAVAILABLE
    # asyncpg's server-side "cannot connect now" (starting up, shutting down) and
    # "too many connections", by SQLSTATE class 08 and 53300/57P0x.
    sqlstate = getattr(error, "sqlstate", None)
    return isinstance(sqlstate, str) and (
        sqlstate.startswith("08") or sqlstate in {"53300", "57P01", "57P02", "57P03"}
    )


def _private_database_file(database_url: str) -> None:
    # The file holds password and token hashes: 0600, like .env and keys/. SQLite
    # gives the -wal and -shm files the mode of the database file.
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileNotFoundError:
        return  # no such folder: SQLite refuses to open it, the caller says so
    except FileExistsError:
        # Made by an older release, or by hand: tighten it and its companions.
        for file in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, from the sessionmaker the app made at start-up."""
    sessionmaker = resource(request, async_sessionmaker)
    async with sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
