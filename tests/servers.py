"""Throwaway PostgreSQL and Redis servers on 127.0.0.1, for the tests.

Each server listens on a free port, keeps its data in a temporary folder, and is
stopped and removed when its block ends. `stop()` and `start()` take it down and
bring it back on the same port (with the same data, for PostgreSQL): what the fault
tests need.

PostgreSQL refuses to run as root: as root, its commands run as the `postgres`
user, in a folder of the system's temporary directory that the user owns (pytest's
own folders are private to root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

POSTGRES_USER = "postgres"
START_TIMEOUT_SECONDS = 30.0


class ServerError(RuntimeError):
    """Raised when a test server cannot be started; the message says why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), if installed."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    # Debian keeps them out of PATH, one folder per major version: the newest.
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else None


def redis_bin() -> Path | None:
    found = shutil.which("redis-server")
    return Path(found) if found else None


def _run(command: list[str], *, as_postgres: bool) -> None:
    if as_postgres:
        command = ["runuser", "-u", POSTGRES_USER, "--", *command]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise ServerError(
            f"{Path(command[0]).name} ... exited {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )


class Postgres:
    """A PostgreSQL server of the tests: trust authentication on loopback."""

    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.port = port
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        self._databases = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        _run(
            [
                str(self.bin_dir / "initdb"),
                *("-D", str(self.data), "-U", POSTGRES_USER),
                *("--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"),
            ],
            as_postgres=self.as_postgres,
        )

    def start(self) -> None:
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-k {self.root}",
                # Throwaway data: durability buys nothing here.
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            ]
        )
        try:
            _run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    *("-D", str(self.data), "-l", str(self.log), "-o", options),
                    *("-w", "-t", str(int(START_TIMEOUT_SECONDS)), "start"),
                ],
                as_postgres=self.as_postgres,
            )
        except ServerError as exc:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise ServerError(f"{exc}\n{log}") from None

    def stop(self) -> None:
        """Stop the server at once, dropping its connections (`pg_ctl stop -m fast`)."""
        _run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
            as_postgres=self.as_postgres,
        )

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; returns its URL."""
        if name is None:
            self._databases += 1
            name = f"test_{self._databases}"
        _run(
            [
                str(self.bin_dir / "createdb"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", POSTGRES_USER, name),
            ],
            as_postgres=False,
        )
        return self.url(name)

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextlib.contextmanager
def running_postgres(folder: Path) -> Iterator[Postgres]:
    """A fresh PostgreSQL server on a free port until the block ends.

    Its data goes under `folder`, or, as root, under a folder of the system's
    temporary directory owned by the postgres user; removed at the end.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise ServerError("PostgreSQL is not installed (no initdb / pg_ctl)")
    if os.geteuid() == 0:
        root = Path(tempfile.mkdtemp(prefix="postgres-"))
        shutil.chown(root, POSTGRES_USER, POSTGRES_USER)
    else:
        root = Path(tempfile.mkdtemp(prefix="postgres-", dir=folder))
    server = Postgres(bin_dir, root, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.is_running():
            with contextlib.suppress(ServerError):
                server.stop()
        shutil.rmtree(root, ignore_errors=True)


class Redis:
    """A Redis server of the tests: no persistence, so a restart empties it."""

    def __init__(self, binary: Path, folder: Path, port: int) -> None:
        self.binary = binary
        self.folder = folder
        self.port = port
        self.log = folder / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            str(self.binary),
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
            *("--logfile", str(self.log)),
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self.log.read_text(errors="replace") if self.log.exists() else ""
                raise ServerError(
                    f"redis-server exited {self._process.returncode}\n{log}"
                )
            if self._answers_ping():
                return
            time.sleep(0.05)
        self.stop()
        raise ServerError(
            f"redis-server did not answer within {START_TIMEOUT_SECONDS} s"
        )

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): its clients' calls hang, as across a broken
        network, until `resume`; nothing is lost."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)  # a paused server cannot stop
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


@contextlib.contextmanager
def running_redis(folder: Path) -> Iterator[Redis]:
    """A fresh Redis server on a free port until the block ends; files in `folder`."""
    binary = redis_bin()
    if binary is None:
        raise ServerError("Redis is not installed (no redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="redis-", dir=folder))
    server = Redis(binary, folder, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
