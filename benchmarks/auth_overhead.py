"""What authentication costs per request: a freshly generated service beside
fastapi-users' documented example, measured in the same run.

Ours: renders the template with auth_methods [jwt, oauth2_password, api_key,
http_basic] and rate_limiting off (other answers default; KEY=VALUE answers
override) and serves it with `<slug> serve`, production hashing parameters
included. A method the answers leave out has n/a in its row.

Theirs: fastapi-users' full SQLAlchemy example (JWT strategy, bearer transport,
SQLite through aiosqlite) with a GET /health route like ours, installed from PyPI
into a virtual environment of its own. Where the resolver allows it, its server
stack (FastAPI, Starlette, Pydantic, uvicorn, uvloop, h11, SQLAlchemy, ...) has
the versions that ours has.

Both run at once, each as one uvicorn process on loopback with the server options
of ours (h11, its header cap, uvloop, access log on, no server header, no proxy
headers). wrk measures requests/s in rounds that alternate the apps (ours, theirs,
ours, theirs, ...) so that machine noise hits both alike; each row shows its median
over the rounds and its ratio to the same app's GET /health. Targets:

- GET /users/me with a bearer JWT: 0.85 of /health or more (the principal comes
  from the verified token, no database read);
- GET /users/me with X-API-Key (a key made by `<slug> create-api-key`): 0.8 or more;
- GET /users/me with HTTP Basic: 0.75 or more;
- GET /health while other clients keep logging in: 0.8 of the idle figure or more
  (Argon2 runs in a bounded worker pool, never on the event loop);
- ours / theirs on the protected route, our bearer GET /users/me over their bearer
  GET /authenticated-route: 8 or more.

Prints figures; asserts nothing: targets are shown, never enforced. Credentials
reach wrk through Lua scripts in a private temporary folder, never through its
command line. Needs wrk (Debian: apt-get install wrk) and PyPI for fastapi-users.
Run through nox: `nox -s bench -- [--seconds N] [--rounds N] [KEY=VALUE ...]`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import copier

REPO_ROOT = Path(__file__).resolve().parent.parent
EMAIL = "bench@example.com"
PASSWORD = "a benchmark passphrase"
CREDENTIALS = {"email": EMAIL, "password": PASSWORD}
METHODS = ["jwt", "oauth2_password", "api_key", "http_basic"]
# `<slug> create-api-key` prints the key alone on its last line: <prefix>_<base62>.
API_KEY = re.compile(r"\S+_[0-9A-Za-z]+")
# Ours refuses request heads larger than this (cli.py: MAX_HEADER_BYTES).
MAX_HEADER_BYTES = 16 * 1024
# Distributions whose versions theirs takes from ours when the resolver allows it.
SERVER_STACK = {
    "aiosqlite",
    "anyio",
    "fastapi",
    "h11",
    "pydantic",
    "pydantic-core",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "uvloop",
}
# uvicorn[standard] as ours has it: the same event loop (uvloop) on both sides.
THEIR_REQUIREMENTS = ("fastapi-users[sqlalchemy]", "aiosqlite", "uvicorn[standard]")
SHOWN_VERSIONS = ("fastapi", "starlette", "pydantic", "uvicorn", "uvloop", "sqlalchemy")
TARGETS = {"jwt": 0.85, "api_key": 0.8, "basic": 0.75, "busy": 0.8}
TARGET_OURS_OVER_THEIRS = 8.0
CONNECTIONS = 32
LOGIN_CONNECTIONS = 8

# fastapi-users' full example (documentation: Configuration > Full example,
# examples/sqlalchemy), as published but for two things: GET /health, and a random
# secret long enough for HS256 in place of "SECRET".
THEIR_APP = {
    "app/__init__.py": "",
    "app/app.py": """\
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app.db import User, create_db_and_tables
from app.schemas import UserCreate, UserRead, UserUpdate
from app.users import auth_backend, current_active_user, fastapi_users


@asynccontextmanager
async def lifespan(app: FastAPI):
    # Not needed if you setup a migration system like Alembic
    await create_db_and_tables()
    yield


app = FastAPI(lifespan=lifespan)

app.include_router(
    fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"]
)
app.include_router(
    fastapi_users.get_register_router(UserRead, UserCreate),
    prefix="/auth",
    tags=["auth"],
)
app.include_router(
    fastapi_users.get_reset_password_router(),
    prefix="/auth",
    tags=["auth"],
)
app.include_router(
    fastapi_users.get_verify_router(UserRead),
    prefix="/auth",
    tags=["auth"],
)
app.include_router(
    fastapi_users.get_users_router(UserRead, UserUpdate),
    prefix="/users",
    tags=["users"],
)


@app.get("/authenticated-route")
async def authenticated_route(user: User = Depends(current_active_user)):
    return {"message": f"Hello {user.email}!"}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
""",
    "app/db.py": """\
from collections.abc import AsyncGenerator

from fastapi import Depends
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

DATABASE_URL = "sqlite+aiosqlite:///./test.db"


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


engine = create_async_engine(DATABASE_URL)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def create_db_and_tables():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
    async with async_session_maker() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_async_session)):
    yield SQLAlchemyUserDatabase(session, User)
""",
    "app/schemas.py": """\
import uuid

from fastapi_users import schemas


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass
""",
    "app/users.py": """\
import uuid
from typing import Optional

from fastapi import Depends, Request
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, models
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    JWTStrategy,
)
from fastapi_users.db import SQLAlchemyUserDatabase

from app.db import User, get_user_db

SECRET = "@SECRET@"


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET

    async def on_after_register(self, user: User, request: Optional[Request] = None):
        print(f"User {user.id} has registered.")

    async def on_after_forgot_password(
        self, user: User, token: str, request: Optional[Request] = None
    ):
        print(f"User {user.id} has forgot their password. Reset token: {token}")

    async def on_after_request_verify(
        self, user: User, token: str, request: Optional[Request] = None
    ):
        print(f"Verification requested for user {user.id}. Verification token: {token}")


async def get_user_manager(user_db: SQLAlchemyUserDatabase = Depends(get_user_db)):
    yield UserManager(user_db)


bearer_transport = BearerTransport(tokenUrl="auth/jwt/login")


def get_jwt_strategy() -> JWTStrategy[models.UP, models.ID]:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


auth_backend = AuthenticationBackend(
    name="jwt",
    transport=bearer_transport,
    get_strategy=get_jwt_strategy,
)

fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])

current_active_user = fastapi_users.current_user(active=True)
""",
}


# Processes and requests -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def uv_env() -> dict[str, str]:
    """uv's environment: each project in its own .venv (nox would point uv at its
    session's), on this interpreter, never a downloaded one."""
    outer = {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    env = {k: v for k, v in os.environ.items() if k not in outer}
    env["UV_PYTHON"] = sys.executable
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def uv(*args: str, cwd: Path | None = None) -> str:
    """Run uv and return its output; a failure carries uv's error message."""
    result = subprocess.run(
        ["uv", *args], cwd=cwd, env=uv_env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"uv {' '.join(args[:2])}: {result.stderr.strip()}")
    return result.stdout


def pins(text: str) -> dict[str, str]:
    """The name==version lines of a requirements text, by normalized name."""
    found = (line.partition("==") for line in text.splitlines())
    return {
        re.sub(r"[-_.]+", "-", name.strip()).lower(): version.strip()
        for name, pinned, version in found
        if pinned and not name.startswith("#")
    }


def installed(python: Path) -> dict[str, str]:
    """Versions of the distributions installed for an interpreter."""
    return pins(uv("pip", "freeze", "--python", str(python)))


def call(
    url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """Status and body of a request to one of the servers, on loopback."""
    request = urllib.request.Request(url, body, dict(headers or {}))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def post(url: str, fields: Mapping[str, str], *, form: bool = False) -> dict[str, Any]:
    """POST JSON (or a form) and return the JSON answer; any status but 2xx fails."""
    if form:
        body, kind = urllib.parse.urlencode(fields).encode(), "x-www-form-urlencoded"
    else:
        body, kind = json.dumps(fields).encode(), "json"
    status, answer = call(url, body, {"Content-Type": f"application/{kind}"})
    if not 200 <= status < 300:
        raise RuntimeError(f"POST {url} answered {status}: {answer[:200]!r}")
    result: dict[str, Any] = json.loads(answer)
    return result


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def fail(self, problem: str) -> NoReturn:
        tail = self.log.read_text(errors="replace").splitlines()[-20:]
        sys.exit("\n".join([f"{self.name} {problem}; the end of its output:", *tail]))

    def wait_until_up(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"exited with {self.process.returncode}")
            with contextlib.suppress(OSError):
                if call(self.base + "/health")[0] == 200:
                    return
            time.sleep(0.5)
        self.fail(f"did not answer GET /health within {seconds:.0f} s")


@contextlib.contextmanager
def serve(
    name: str,
    command: Sequence[str],
    cwd: Path,
    port: int,
    log: Path,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Run a server until the block ends, its output (access log included) in log;
    `env` adds settings (over .env)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**uv_env(), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        server = Server(name, f"http://127.0.0.1:{port}", process, log)
        server.wait_until_up()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# wrk ------------------------------------------------------------------------------


def lua_string(value: str) -> str:
    """A Lua string literal: printable ASCII as is, every other byte as \\ddd."""
    escaped = (
        chr(byte) if 32 <= byte < 127 and chr(byte) not in '"\\' else f"\\{byte:03d}"
        for byte in value.encode()
    )
    return '"' + "".join(escaped) + '"'


def wrk_script(
    path: Path,
    headers: Mapping[str, str],
    *,
    method: str = "GET",
    body: str | None = None,
) -> Path:
    """Write a wrk script that sets the request; only its owner may read it."""
    lines = [f"wrk.method = {lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    for name, value in headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk_command(url: str, seconds: int, script: Path, connections: int) -> list[str]:
    return ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]


def requests_per_second(output: str) -> float:
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"no Requests/sec in the output of wrk:\n{output}")
    return float(match.group(1))


def not_2xx(output: str) -> int:
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return int(match.group(1)) if match else 0


def wrk(url: str, seconds: int, script: Path) -> float:
    """Requests per second that wrk measured; every answer must have been 2xx."""
    output = subprocess.run(
        wrk_command(url, seconds, script, CONNECTIONS),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if failed := not_2xx(output):
        raise RuntimeError(f"{failed} answers from {url} were not 2xx:\n{output}")
    return requests_per_second(output)


# The two apps ---------------------------------------------------------------------


@dataclass
class Ours:
    project: Path
    slug: str
    methods: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def python(self) -> Path:
        return self.project / ".venv" / "bin" / "python"

    def command(self, port: int) -> list[str]:
        return ["uv", "run", self.slug, "serve", "--port", str(port)]


def set_up_ours(destination: Path, data: Mapping[str, Any]) -> Ours:
    """Render the template (rate limiting off) and uv sync the project."""
    methods = list(data.get("auth_methods", METHODS))
    if "jwt" not in methods:
        sys.exit("the benchmark logs in at POST /auth/login: keep jwt in auth_methods")
    copier.run_copy(
        str(REPO_ROOT),
        str(destination),
        data={**data, "auth_methods": methods, "rate_limiting": False},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    answers = (destination / ".copier-answers.yml").read_text()
    slug = re.search(r"^project_slug: (.+)$", answers, re.MULTILINE)
    if slug is None:
        sys.exit("no project_slug in .copier-answers.yml")
    uv("sync", "-q", cwd=destination)
    return Ours(destination, slug.group(1).strip().strip("'\""), methods)


def create_api_key(ours: Ours) -> tuple[str | None, str]:
    """A key from `<slug> create-api-key` (the server runs meanwhile), or why not."""
    if "api_key" not in ours.methods:
        return None, "api_key not among the answers"
    result = subprocess.run(
        ["uv", "run", ours.slug, "create-api-key", EMAIL, "--name", "bench"],
        cwd=ours.project,
        env=uv_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        if "No such command" in result.stderr:
            return None, "no create-api-key command"
        return None, f"create-api-key exited with {result.returncode}"
    lines = result.stdout.strip().splitlines()
    key = lines[-1].strip() if lines else ""
    if not API_KEY.fullmatch(key):
        return None, "create-api-key printed no key on its last line"  # never shown
    return key, ""


@dataclass
class Theirs:
    folder: Path
    notes: list[str] = field(default_factory=list)

    @property
    def python(self) -> Path:
        return self.folder / ".venv" / "bin" / "python"

    def command(self, port: int) -> list[str]:
        return [
            str(self.python),
            "-m",
            "uvicorn",
            "app.app:app",
            "--host=127.0.0.1",
            f"--port={port}",
            "--workers=1",
            "--http=h11",
            f"--h11-max-incomplete-event-size={MAX_HEADER_BYTES}",
            "--no-server-header",
            "--no-proxy-headers",
            "--log-level=info",
        ]


def set_up_theirs(folder: Path, ours: Mapping[str, str]) -> Theirs:
    """Write the example app and install fastapi-users beside it, in its own venv.

    The newest fastapi-users, and of its server stack every version that ours has
    and the resolver allows beside the others (fastapi-users pins some of its
    dependencies exactly).
    """
    secret = secrets.token_urlsafe(32)
    for name, source in THEIR_APP.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source.replace("@SECRET@", secret))
    theirs = Theirs(folder)
    uv("venv", "-q", str(folder / ".venv"))
    requirements = folder / "requirements.in"
    constraints = folder / "constraints.txt"

    def resolve(wanted: Sequence[str], pinned: Mapping[str, str]) -> str | None:
        requirements.write_text("".join(f"{line}\n" for line in wanted))
        constraints.write_text("".join(f"{k}=={v}\n" for k, v in pinned.items()))
        command = ("pip", "compile", "-q", "--no-header", "--no-annotate")
        target = ("--python", str(theirs.python), "--constraint", str(constraints))
        try:
            return uv(*command, *target, str(requirements))
        except RuntimeError:
            return None

    newest = resolve(THEIR_REQUIREMENTS, {})
    if newest is None:
        sys.exit(f"cannot resolve {', '.join(THEIR_REQUIREMENTS)}")
    release = pins(newest)["fastapi-users"]
    wanted = [f"fastapi-users[sqlalchemy]=={release}", *THEIR_REQUIREMENTS[1:]]
    shared: dict[str, str] = {}
    for name in sorted(SERVER_STACK & ours.keys()):
        if resolve(wanted, {**shared, name: ours[name]}) is not None:
            shared[name] = ours[name]
    locked = resolve(wanted, shared)
    if locked is None:  # resolved a moment ago: the index changed meanwhile
        sys.exit("cannot resolve fastapi-users' requirements any more")
    (folder / "requirements.txt").write_text(locked)
    uv(
        "pip",
        "install",
        "-q",
        "--python",
        str(theirs.python),
        "-r",
        "requirements.txt",
        cwd=folder,
    )
    differing = [
        f"{name} {version} (ours {ours[name]})"
        for name, version in sorted(pins(locked).items())
        if name in SERVER_STACK and name in ours and ours[name] != version
    ]
    if differing:
        theirs.notes.append(
            f"theirs has {', '.join(differing)}: fastapi-users {release} excludes"
            " our versions"
        )
    return theirs


# Measuring ------------------------------------------------------------------------


@dataclass
class Bench:
    """Both servers up, the wrk scripts written, and the figures of every round."""

    folder: Path
    seconds: int
    ours: Server
    theirs: Server
    health: Path = field(init=False)
    our_scripts: dict[str, Path] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    login_failures: int = 0

    def record(self, row: str, value: float) -> None:
        self.samples.setdefault(row, []).append(value)

    def median(self, row: str) -> float | None:
        values = self.samples.get(row)
        return statistics.median(values) if values else None

    def script(self, name: str, headers: Mapping[str, str], **request: str) -> Path:
        return wrk_script(self.folder / f"{name}.lua", headers, **request)

    def our_bearer(self) -> Path:
        """A fresh access token for ours (it lives 15 minutes by default)."""
        token = post(self.ours.base + "/auth/login", CREDENTIALS)["access_token"]
        return self.script("our-jwt", {"Authorization": f"Bearer {token}"})

    def their_bearer(self) -> Path:
        login = {"username": EMAIL, "password": PASSWORD}
        url = self.theirs.base + "/auth/jwt/login"
        token = post(url, login, form=True)["access_token"]
        return self.script("their-jwt", {"Authorization": f"Bearer {token}"})

    def prepare(self, ours: Ours) -> None:
        """Register on both, make our other credentials, check them, warm up."""
        post(self.ours.base + "/auth/register", CREDENTIALS)
        post(self.theirs.base + "/auth/register", CREDENTIALS)
        headers: dict[str, dict[str, str]] = {}
        key, self.reasons["api_key"] = create_api_key(ours)
        if key is not None:
            headers["api_key"] = {"X-API-Key": key}
        if "http_basic" in ours.methods:
            basic = base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
            headers["basic"] = {"Authorization": f"Basic {basic}"}
        else:
            self.reasons["basic"] = "http_basic not among the answers"
        for row, row_headers in headers.items():
            status, _ = call(self.ours.base + "/users/me", None, row_headers)
            if status == 200:
                self.our_scripts[row] = self.script(row, row_headers)
            else:
                self.reasons[row] = f"GET /users/me answered {status}"
        self.health = self.script("health", {})
        self.our_scripts["login"] = self.script(
            "login",
            {"Content-Type": "application/json"},
            method="POST",
            body=json.dumps(CREDENTIALS),
        )
        # Imports, caches and first connections stay out of the figures.
        for server, path, bearer in (
            (self.ours, "/users/me", self.our_bearer),
            (self.theirs, "/authenticated-route", self.their_bearer),
        ):
            wrk(server.base + "/health", 1, self.health)
            wrk(server.base + path, 1, bearer())

    def round_of_ours(self) -> None:
        base, scripts, seconds = self.ours.base, self.our_scripts, self.seconds
        self.record("health", wrk(base + "/health", seconds, self.health))
        self.record("jwt", wrk(base + "/users/me", seconds, self.our_bearer()))
        for row in ("api_key", "basic"):
            if row in scripts:
                self.record(row, wrk(base + "/users/me", seconds, scripts[row]))
        logins = subprocess.Popen(
            wrk_command(
                base + "/auth/login", seconds + 4, scripts["login"], LOGIN_CONNECTIONS
            ),
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(2)  # logins in full swing before the measurement starts
        self.record("busy", wrk(base + "/health", seconds, self.health))
        output, _ = logins.communicate()
        self.record("logins", requests_per_second(output))
        self.login_failures += not_2xx(output)
        time.sleep(1)  # the hashing pool drains before the next measurement

    def round_of_theirs(self) -> None:
        base, seconds = self.theirs.base, self.seconds
        self.record("their_health", wrk(base + "/health", seconds, self.health))
        route = wrk(base + "/authenticated-route", seconds, self.their_bearer())
        self.record("their_route", route)


def report(
    bench: Bench,
    ours: Ours,
    theirs: Theirs,
    versions: tuple[Mapping[str, str], Mapping[str, str]],
    data: Mapping[str, Any],
    rounds: int,
) -> None:
    def stack(found: Mapping[str, str]) -> str:
        return ", ".join(f"{name} {found.get(name, '-')}" for name in SHOWN_VERSIONS)

    def row(label: str, value: float | None, base: float | None, target: str) -> None:
        """One figure, and its ratio to base unless base is None (a /health row)."""
        shown = f"{value:8.0f}" if value is not None else f"{'n/a':>8}"
        if base is None:
            ratio = ""
        elif value is None or not base:
            ratio = "n/a"
        else:
            ratio = f"{value / base:.2f}"
        print(f"{label:44} {shown} {ratio:>7}  {target}".rstrip())

    print()
    print(f"ours:   auth_methods {ours.methods}; answers: {dict(data) or 'defaults'}")
    print(f"        {stack(versions[0])}")
    print(f"theirs: fastapi-users {versions[1].get('fastapi-users', '?')}")
    print(f"        {stack(versions[1])}")
    for note in ours.notes + theirs.notes:
        print(f"note:   {note}")
    print(f"wrk: {CONNECTIONS} connections, {bench.seconds} s per figure,", end=" ")
    print(f"median of {rounds} round(s)")
    print()
    print(f"{'':44} {'req/s':>8} {'ratio':>7}  target")
    health = bench.median("health")
    row("ours    GET /health", health, None, "")
    target = f">= {TARGETS['jwt']:.2f}"
    row("ours    GET /users/me, bearer JWT", bench.median("jwt"), health, target)
    for name, label in (("api_key", "X-API-Key"), ("basic", "HTTP Basic")):
        target = f">= {TARGETS[name]:.2f}"
        if reason := bench.reasons.get(name):
            target += f"  ({reason})"
        row(f"ours    GET /users/me, {label}", bench.median(name), health, target)
    logins = bench.median("logins")
    during = f"{logins:.0f} logins/s" if logins is not None else "logins/s unknown"
    if bench.login_failures:
        during += f", {bench.login_failures} not 2xx"
    target = f">= {TARGETS['busy']:.2f}  ({during})"
    row("ours    GET /health, logins running", bench.median("busy"), health, target)
    their_health = bench.median("their_health")
    row("theirs  GET /health", their_health, None, "")
    their_route = bench.median("their_route")
    row("theirs  GET /authenticated-route, bearer JWT", their_route, their_health, "")
    ours_jwt = bench.median("jwt")
    times = f"{ours_jwt / their_route:.1f}x" if ours_jwt and their_route else "n/a"
    label = "ours / theirs, protected route (bearer JWT)"
    print(f"{label:44} {times:>16}  >= {TARGET_OURS_OVER_THEIRS:.0f}x")


def main() -> int:
    summary = __doc__.split("\n\n", 1)[0].replace("\n", " ")
    parser = argparse.ArgumentParser(description=summary)
    parser.add_argument("answers", nargs="*", help="KEY=VALUE answers (YAML values)")
    parser.add_argument(
        "--seconds", type=int, default=10, help="length of one measurement (10)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of ours, then theirs (2)"
    )
    args = parser.parse_args()
    if args.seconds < 1 or args.rounds < 1:
        parser.error("--seconds and --rounds take 1 or more")
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    import yaml

    data = {
        key: yaml.safe_load(value)
        for key, value in (answer.split("=", 1) for answer in args.answers)
    }
    # 0700: the wrk scripts in it hold credentials.
    with tempfile.TemporaryDirectory(prefix="auth-bench-") as temporary:
        folder = Path(temporary)
        ours = set_up_ours(folder / "ours", data)
        our_versions = installed(ours.python)
        theirs = set_up_theirs(folder / "theirs", our_versions)
        versions = (our_versions, installed(theirs.python))
        our_port, their_port = free_port(), free_port()
        with (
            serve(
                "our service",
                ours.command(our_port),
                ours.project,
                our_port,
                folder / "ours.log",
            ) as a,
            serve(
                "fastapi-users",
                theirs.command(their_port),
                theirs.folder,
                their_port,
                folder / "theirs.log",
            ) as b,
        ):
            bench = Bench(folder / "wrk", args.seconds, a, b)
            bench.folder.mkdir()
            bench.prepare(ours)
            for number in range(1, args.rounds + 1):
                print(f"round {number} of {args.rounds}: ours", file=sys.stderr)
                bench.round_of_ours()
                print(f"round {number} of {args.rounds}: theirs", file=sys.stderr)
                bench.round_of_theirs()
    report(bench, ours, theirs, versions, data, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
