"""A real OpenID Connect provider on 127.0.0.1, for the end-to-end social login tests.

The provider is the `oidc-provider` npm package, run by Node from the folder
`tests/oidc_provider/` (set it up once with `npm ci --prefix tests/oidc_provider`).
It serves one client, signs in anyone with the login name they type (the e-mail
address is `<login>@example.test` unless the login is one) and requires PKCE.

Only its development sign-in and consent forms stand between the authorization URL
and the redirect back: `log_in_at_provider` posts them as a browser would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"

# The ways the client may authenticate at the token endpoint. The provider takes
# either, and advertises both in its discovery document unless told one.
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
# Requests from the authorization URL to the redirect back: a first sign-in takes
# seven, one as another account ten.
MAX_STEPS = 20


class ProviderError(RuntimeError):
    """The provider did not start, or did not lead back to the relying party."""


def provider_installed() -> bool:
    """Whether Node is on PATH and the provider's npm packages are installed."""
    package = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    return shutil.which("node") is not None and package.is_file()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_text(log_path: Path) -> str:
    try:
        return log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _wait_until_ready(
    process: subprocess.Popen[bytes], issuer: str, log_path: Path
) -> None:
    discovery = f"{issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise ProviderError(
                    f"the OpenID provider exited with code {process.returncode}:\n"
                    + _log_text(log_path)
                )
            try:
                if client.get(discovery).status_code == httpx.codes.OK:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"the OpenID provider did not answer {discovery} within "
                    f"{START_TIMEOUT_S:.0f} s:\n" + _log_text(log_path)
                )
            time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_provider(
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    log_path: Path,
    advertised_auth_method: str | None = None,
) -> Iterator[str]:
    """Run the provider on a free port of 127.0.0.1 and yield its issuer URL.

    It knows one client, `client_id`, which gets its authorization responses at
    `redirect_uri` and authenticates at the token endpoint with
    `client_secret_basic` or `client_secret_post`. Discovery advertises both, or
    only `advertised_auth_method` when given; the log tells which one each token
    request used.

    The provider's output goes to `log_path`, which is in the error when the
    provider fails to start.
    """
    if advertised_auth_method not in (None, *CLIENT_AUTH_METHODS):
        raise ValueError(f"unsupported client auth: {advertised_auth_method}")
    node = shutil.which("node")
    if node is None:
        raise ProviderError("Node.js is not on PATH")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    # The secret goes in the environment, not on a command line anyone can list.
    env = {
        **os.environ,
        "PROVIDER_PORT": str(port),
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "REDIRECT_URI": redirect_uri,
    }
    env.pop("CLIENT_AUTH_METHOD", None)
    if advertised_auth_method is not None:
        env["CLIENT_AUTH_METHOD"] = advertised_auth_method
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, "provider.mjs"],
            cwd=PROVIDER_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(process, issuer, log_path)
            yield issuer
        finally:
            _stop(process)


class _Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: dict[str, str] = {}


class _FormParser(HTMLParser):
    """Collects the forms of a page, with their named input fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._form: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = _Form(
                attributes.get("action", ""), attributes.get("method", "get").lower()
            )
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and "name" in attributes:
            self._form.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


# The provider's pages that a browser submits by itself: the one that ends the
# session of another account before it signs in a new one, for example.
_AUTO_SUBMIT = "document.forms[0].submit()"


def _next_form(page: str) -> _Form | None:
    """The form to submit on a provider's page, if it has one.

    That is the development sign-in or consent form (the one with a `prompt`
    field), or the form of a page that submits itself.
    """
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    prompted = [form for form in parser.forms if "prompt" in form.fields]
    if prompted:
        return prompted[0]
    if parser.forms and _AUTO_SUBMIT in page:
        return parser.forms[0]
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def log_in_at_provider(client: httpx.Client, authorization_url: str, login: str) -> str:
    """Sign in as `login` at the provider; return the redirect to the relying party.

    Starts from the authorization URL the relying party made, follows the
    provider's redirects, fills in its sign-in form (the password is ignored) and
    its consent form when it shows them, and returns the URL the provider finally
    redirects to, with its `code`, `state` and `iss`, without requesting it.

    A second sign-in in the same `client` skips both forms: the provider remembers
    its session and the grant, and signs in the account of that session whatever
    `login` says. To sign in as another account, use another client, or have the
    relying party ask for `prompt=login`: the provider then ends the session of the
    account before, as a browser would.

    `client` must keep cookies and must not follow redirects itself.
    """
    provider = _origin(authorization_url)
    url = authorization_url
    response = client.get(url)
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            if _origin(url) != provider:
                return url
            response = client.get(url)
            continue
        form = _next_form(response.text) if response.is_success else None
        action = urljoin(url, form.action) if form is not None else url
        if form is None or form.method != "post" or _origin(action) != provider:
            raise ProviderError(
                f"unexpected answer {response.status_code} from {url}:\n"
                + response.text[:2000]
            )
        fields = dict(form.fields)
        if fields.get("prompt") == "login":
            fields.update(login=login, password="unused")  # noqa: S106
        url = action
        response = client.post(url, data=fields)
    raise ProviderError(f"no redirect back after {MAX_STEPS} steps, last at {url}")
