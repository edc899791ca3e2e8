"""What a shared store costs: two replicas on PostgreSQL and Redis beside one process
on SQLite, measured in the same run.

One process: the template rendered with its defaults (SQLite, the database as token
store), rate limiting off, served by `<slug> serve`. Two replicas: the same answers
with database=postgresql and token_store=redis, two `serve` processes on one
throwaway PostgreSQL and one throwaway Redis (started here on loopback, as the
template's tests start them). wrk measures, for each:

- GET /users/me with a bearer JWT: on the replicas, one wrk per replica at once;
  each replica's figure and their sum;
- POST /auth/refresh: every request spends a refresh token and the next request
  of its chain spends the new one (the wrk script keeps a pool of chains, one
  login each), so each request is a real rotation (a Lua script in Redis, a
  conditional UPDATE in SQLite).

On a machine with few cores, the replicas, the servers and wrk share them: read
the figures as the cost of the shared store on this machine, not as a ceiling.
Prints figures; asserts nothing. Needs wrk (apt-get install wrk), PostgreSQL and
redis-server (Debian's postgresql and redis-server). Run through nox:
`nox -s bench -- --replicas [SECONDS]`.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import copier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.auth_overhead import (
    CONNECTIONS,
    EMAIL,
    PASSWORD,
    REPO_ROOT,
    Server,
    call,
    free_port,
    lua_string,
    not_2xx,
    post,
    requests_per_second,
    uv,
    wrk,
    wrk_command,
    wrk_script,
)
from benchmarks.auth_overhead import serve as serve_process
from tests.servers import running_postgres, running_redis

SHARED = {"database": "postgresql", "token_store": "redis"}
# Refresh chains in the pool: more than wrk's connections, so that none waits.
CHAINS = 2 * CONNECTIONS


def render(destination: Path, answers: Mapping[str, Any]) -> Path:
    copier.run_copy(
        str(REPO_ROOT),
        str(destination),
        data={"auth_methods": ["jwt"], "rate_limiting": False, **answers},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    uv("sync", "-q", cwd=destination)
    return destination


@contextlib.contextmanager
def serve(project: Path, env: Mapping[str, str], log: Path) -> Iterator[Server]:
    """`my-api serve` on a free port, with `env` over .env, until the block ends."""
    port = free_port()
    command = ["uv", "run", "my-api", "serve", "--port", str(port)]
    with serve_process(log.stem, command, project, port, log, env) as server:
        yield server


def refresh_script(path: Path, tokens: list[str]) -> Path:
    """A wrk script that spends one token per request and keeps each chain going
    with the token its answer brings."""
    pool = ", ".join(lua_string(token) for token in tokens)
    path.touch(mode=0o600)
    path.write_text(
        f"""
local pool = {{{pool}}}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local token = table.remove(pool)
  return wrk.format(nil, nil, nil, '{{"refresh_token": "' .. token .. '"}}')
end
response = function(status, headers, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if token then table.insert(pool, 1, token) end
end
"""
    )
    return path


def sessions(base: str, count: int) -> list[dict[str, Any]]:
    """`count` logins of the bench account (one refresh chain each)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(
            pool.map(
                lambda _: post(
                    f"{base}/auth/login", {"email": EMAIL, "password": PASSWORD}
                ),
                range(count),
            )
        )


def wrk_at_once(jobs: list[tuple[str, Path]], seconds: int) -> list[float]:
    """Requests/s of several wrk runs started together (one per replica)."""
    processes = [
        subprocess.Popen(
            # A long timeout: a request that times out ends its refresh chain.
            [*wrk_command(url, seconds, script, CONNECTIONS), "--timeout", "30s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for url, script in jobs
    ]
    figures = []
    for (url, _), process in zip(jobs, processes, strict=True):
        output = process.communicate()[0]
        if failed := not_2xx(output):
            raise RuntimeError(f"{failed} answers from {url} were not 2xx:\n{output}")
        if (
            "Socket errors" in output
            or "error" in output.lower().split("requests/sec")[0]
        ):
            raise RuntimeError(f"wrk reported errors for {url}:\n{output}")
        figures.append(requests_per_second(output))
    return figures


def measure(bases: list[str], folder: Path, seconds: int) -> dict[str, list[float]]:
    """GET /users/me and POST /auth/refresh on every base at once."""
    status, body = call(
        f"{bases[0]}/auth/register",
        json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
        {"Content-Type": "application/json"},
    )
    if status not in (201, 202):
        raise RuntimeError(f"registration answered {status}: {body[:200]!r}")
    me_jobs, refresh_jobs = [], []
    for number, base in enumerate(bases):
        chains = sessions(base, CHAINS)
        bearer = {"Authorization": f"Bearer {chains[0]['access_token']}"}
        me_jobs.append(
            (f"{base}/users/me", wrk_script(folder / f"me-{number}.lua", bearer))
        )
        tokens = [chain["refresh_token"] for chain in chains]
        script = refresh_script(folder / f"refresh-{number}.lua", tokens)
        refresh_jobs.append((f"{base}/auth/refresh", script))
    wrk(me_jobs[0][0], 2, me_jobs[0][1])  # warm up
    return {
        "me": wrk_at_once(me_jobs, seconds),
        "refresh": wrk_at_once(refresh_jobs, seconds),
    }


def report(single: dict[str, list[float]], shared: dict[str, list[float]]) -> None:
    print()
    print(f"wrk: {CONNECTIONS} connections per replica; refresh chains: {CHAINS}")
    print(f"{'':32} {'':26} {'req/s':>8}")
    rows = (("me", "GET /users/me, bearer JWT"), ("refresh", "POST /auth/refresh"))
    for kind, label in rows:
        print(f"{'one process, SQLite':32} {label:26} {single[kind][0]:8.0f}")
        for number, figure in enumerate(shared[kind], 1):
            print(
                f"{f'replica {number}, PostgreSQL + Redis':32} {label:26} {figure:8.0f}"
            )
        total = sum(shared[kind])
        ratio = f"({total / single[kind][0]:.2f} of one)" if single[kind][0] else ""
        print(f"{'both replicas together':32} {label:26} {total:8.0f}  {ratio}")


def main(seconds: int) -> int:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="replica-bench-") as temporary:
        folder = Path(temporary)
        single_project = render(folder / "single", {})
        shared_project = render(folder / "shared", SHARED)
        (folder / "wrk").mkdir(mode=0o700)
        print("one process on SQLite", file=sys.stderr)
        env = {"DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'single.db'}"}
        with serve(single_project, env, folder / "single.log") as server:
            single = measure([server.base], folder / "wrk", seconds)
        print("two replicas on PostgreSQL and Redis", file=sys.stderr)
        with running_postgres(folder) as postgres, running_redis(folder) as redis:
            env = {
                "DATABASE_URL": postgres.create_database(),
                "REDIS_URL": redis.url,
                "REDIS_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            }
            with (
                serve(shared_project, env, folder / "replica-1.log") as one,
                serve(shared_project, env, folder / "replica-2.log") as two,
            ):
                shared = measure([one.base, two.base], folder / "wrk", seconds)
    report(single, shared)
    return 0


if __name__ == "__main__":
    seconds = int(re.sub(r"\D", "", sys.argv[1])) if len(sys.argv) > 1 else 10
    sys.exit(main(seconds))
