"""What authentication costs per request, measured on a freshly generated service.

Renders the template (default answers unless given), starts the service with its
production hashing parameters, and drives it with wrk over loopback:

- requests/s of GET /users/me with a bearer token, divided by those of GET /health
  (the target is 0.8 or more: the principal comes from the verified token, no
  database read);
- requests/s of GET /health while other clients keep logging in, divided by the idle
  figure (the target is 0.7 or more: Argon2 runs in a bounded worker pool, never on
  the event loop).

Prints figures; asserts nothing. Needs wrk (Debian: apt-get install wrk).
Run through nox: `nox -s bench` (answers as KEY=VALUE after `--`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import copier

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a benchmark passphrase"
LOGIN_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"email": "bench@example.com", "password": "%s"}'
wrk.headers["Content-Type"] = "application/json"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def uv_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["UV_PYTHON"] = sys.executable
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def post_json(url: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310  (loopback only)
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        result: dict[str, object] = json.load(response)
        return result


def wrk(url: str, seconds: int, *extra: str) -> float:
    """Requests per second that wrk measured."""
    output = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(output)
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", nargs="*", help="KEY=VALUE answers (YAML values)")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    import yaml

    data = {
        key: yaml.safe_load(value)
        for key, value in (answer.split("=", 1) for answer in args.answers)
    }
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "bench"
        copier.run_copy(
            str(REPO_ROOT),
            str(project),
            data=data | {"rate_limiting": False},
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )
        answers = (project / ".copier-answers.yml").read_text()
        slug = re.search(r"^project_slug: (.+)$", answers, re.M)
        if slug is None:
            sys.exit("no project_slug in .copier-answers.yml")
        subprocess.run(["uv", "sync", "-q"], cwd=project, env=uv_env(), check=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            ["uv", "run", slug.group(1).strip(), "serve", "--port", str(port)],
            cwd=project,
            env=uv_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(base + "/health", timeout=1)  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.5)
            credentials = {"email": "bench@example.com", "password": PASSWORD}
            post_json(base + "/auth/register", credentials)
            pair = post_json(base + "/auth/login", credentials)
            token = str(pair["access_token"])

            health = wrk(base + "/health", args.seconds)
            me = wrk(
                base + "/users/me", args.seconds, "-H", f"Authorization: Bearer {token}"
            )
            script = project / "login.lua"
            script.write_text(LOGIN_SCRIPT % PASSWORD)
            login_command = ["wrk", "-t1", "-c8", f"-d{args.seconds + 4}s"]
            logins = subprocess.Popen(
                [*login_command, "-s", str(script), base + "/auth/login"],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(2)
            busy = wrk(base + "/health", args.seconds)
            login_output, _ = logins.communicate()
            login_rate = re.search(r"Requests/sec:\s+([\d.]+)", login_output)
        finally:
            server.terminate()
            server.wait(timeout=30)
    logins_per_second = login_rate.group(1) if login_rate else "?"
    print(f"answers: {data or 'defaults'}")
    print(f"{'GET /health':32} {health:10.0f} req/s")
    print(
        f"{'GET /users/me (bearer JWT)':32} {me:10.0f} req/s   ratio {me / health:.2f}"
    )
    print(
        f"{'GET /health during logins':32} {busy:10.0f} req/s   ratio"
        f" {busy / health:.2f}   (logins: {logins_per_second} req/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
