"""Swagger UI of a served project in a real browser (Chromium, driven by Playwright).

The docs page must work offline, under a policy that allows its own origin alone,
and its Authorize must work for every scheme and transport: each test authorizes
with one scheme, runs `GET /users/me` and an unsafe request (`POST
/auth/logout-all`, so that CSRF is exercised with cookies) from the page, and sees
them succeed.

Chromium is Debian's (`apt-get install chromium`); Playwright never downloads a
browser here. Set SWAGGER_SCREENSHOT to a path to keep a picture of the authorized
page (the README's).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import EVERY_METHOD, render, run
from .test_rendered_projects import call, free_port, served, sync

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("timed")]

SLUG = "my-api"
EMAIL = "ada@example.com"
PASSWORD = "analytical-engine-1843"  # noqa: S105  (a test account's)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ME = "operations-users-read_me_users_me_get"
LOGOUT_ALL = "operations-auth-logout_all_auth_logout_all_post"
LOGIN = "operations-auth-login_auth_login_post"
KEEP_CURRENT = '{"keep_current": true}'


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as driver:
        # As root (CI), Chromium needs its sandbox off; a container's small
        # /dev/shm would crash its renderer.
        args = ["--disable-dev-shm-usage"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        browser.close()


class DocsPage:
    """The /docs page in a fresh browser context, and what it did."""

    def __init__(self, browser: Any, base: str, path: str = "/docs") -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000})
        self.page = self.context.new_page()
        self.answered: list[str] = []
        self.problems: list[str] = []
        # What was answered: a request the policy refused never left the browser.
        self.page.on("response", lambda response: self.answered.append(response.url))
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on("console", self._console)
        self.page.goto(f"{base}{path}")
        if path == "/docs":
            self.page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)

    def _console(self, message: Any) -> None:
        # A response with an error status is the test's own doing, not a problem.
        if message.text.startswith("Failed to load resource"):
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(message.text)

    def authorize(self, scheme: str, **fields: str) -> None:
        """Fill the scheme's part of the Authorize dialog (`fields` by input id)
        and apply it; the dialog then says it is authorized."""
        self.page.click("button.authorize")
        block = self.page.locator(".modal-ux .auth-container").filter(
            has=self.page.locator("h4", has_text=re.compile(rf"^\s*{scheme}\b"))
        )
        for field, value in fields.items():
            block.locator(f"#{field}").fill(value)
        if scheme == "PasswordBearer":
            block.locator("label[for=profile-password-checkbox-PasswordBearer]").click()
        block.locator("button.authorize").click()
        block.get_by_text("Authorized", exact=False).first.wait_for(timeout=10_000)
        self.page.click(".modal-ux button.close-modal")

    def execute(
        self, operation: str, body: str | None = None, *, keep: bool = False
    ) -> int:
        """Run an operation with Try it out; its response's status code (`keep`
        leaves the response on the page)."""
        block = self.page.locator(f"#{operation}")
        if "is-open" not in (block.get_attribute("class") or ""):
            block.locator(".opblock-summary").first.click()
        try_out = block.locator("button.try-out__btn")
        if try_out.inner_text().strip() == "Try it out":
            try_out.click()
        if body is not None:
            block.locator("textarea.body-param__text").fill(body)
        block.locator("button.execute").click()
        status = block.locator(".live-responses-table tr.response .response-col_status")
        status.wait_for(timeout=15_000)
        code = int(status.inner_text().split()[0])
        if not keep:
            block.locator("button.btn-clear").click()
        return code

    def check_offline_and_policy(self, tolerated: str | None = None) -> None:
        """Everything came from the service itself, and nothing the page needs was
        refused (`tolerated`: the one refusal expected)."""
        own = (self.base, f"blob:{self.base}")
        foreign = [url for url in self.answered if not url.startswith(own)]
        assert not foreign, f"requests left the service: {foreign}"
        problems = [p for p in self.problems if not (tolerated and tolerated in p)]
        assert not problems, problems

    def close(self) -> None:
        self.context.close()


def served_project(
    tmp_path: Path, answers: dict[str, Any]
) -> tuple[Path, dict[str, str], int]:
    """The project with an administrator, an API key, and the settings to serve it
    on a port of its own."""
    project = render(tmp_path / "project", answers)
    sync(project)
    made = run(
        ["uv", "run", SLUG, "create-user", EMAIL, "--admin"],
        cwd=project,
        input=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stdout
    port = free_port()
    return project, {"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}, port


def api_key(project: Path) -> str:
    created = run(
        ["uv", "run", SLUG, "create-api-key", EMAIL, "--name", "docs"], cwd=project
    )
    assert created.returncode == 0, created.stdout
    return created.stdout.strip().splitlines()[-1]


def try_it(docs: DocsPage) -> None:
    """The caller's own account and an unsafe request, from the page."""
    assert docs.execute(ME) == 200
    assert docs.execute(LOGOUT_ALL, KEEP_CURRENT) == 200


def test_swagger_ui_authorizes_every_bearer_scheme(
    tmp_path: Path, chromium: Any
) -> None:
    answers = {"auth_methods": EVERY_METHOD, "social_providers": ["oidc"]}
    project, env, port = served_project(tmp_path, answers)
    key = api_key(project)
    with served(project, SLUG, tmp_path / "serve.log", env=env, port=port) as base:
        schemes: list[tuple[str, dict[str, str]]] = [
            ("PasswordBearer", {"oauth_username": EMAIL, "oauth_password": PASSWORD}),
            ("JWTBearer", {}),
            ("APIKey", {"api_key_value": key}),
            (
                "HTTPBasic",
                {"auth-basic-username": EMAIL, "auth-basic-password": PASSWORD},
            ),
        ]
        for scheme, fields in schemes:
            if scheme == "JWTBearer":  # a fresh login: the one before has ended
                status, pair, _ = call(
                    "POST", f"{base}/auth/login", {"email": EMAIL, "password": PASSWORD}
                )
                assert status == 200, pair
                fields = {"auth-bearer-value": pair["access_token"]}
            docs = DocsPage(chromium, base)
            try:
                docs.authorize(scheme, **fields)
                try_it(docs)
                if scheme == "HTTPBasic" and os.environ.get("SWAGGER_SCREENSHOT"):
                    # The dialog says "Authorized" and masks the password: a
                    # picture without a credential in it.
                    docs.page.click("button.authorize")
                    authorized = docs.page.get_by_text("Authorized").first
                    authorized.scroll_into_view_if_needed()
                    docs.page.screenshot(path=os.environ["SWAGGER_SCREENSHOT"])
                    docs.page.click(".modal-ux button.close-modal")
                # Social login is a link to the service's own sign-in, never
                # Swagger UI's OAuth2 flow with the provider.
                link = docs.page.locator("a[href='/auth/oidc/login']")
                assert link.count() == 1
                docs.check_offline_and_policy()
            finally:
                docs.close()
        # ReDoc renders the same document, under the same policy (its styles by
        # nonce); only the Redocly logo it shows from its vendor's CDN is refused.
        redoc = DocsPage(chromium, base, "/redoc")
        try:
            title = redoc.page.locator("h1").first
            title.wait_for(timeout=30_000)
            assert "My API" in title.inner_text()
            assert redoc.page.locator("[data-section-id]").count() > 10
            redoc.check_offline_and_policy(tolerated="https://cdn.redoc.ly/")
        finally:
            redoc.close()
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert PASSWORD not in log
    assert key not in log


def test_swagger_ui_authorizes_with_cookies_and_sends_csrf(
    tmp_path: Path, chromium: Any
) -> None:
    """With cookie transport the login answers no token: Authorize (the password
    flow) and `POST /auth/login` set cookies, and the page adds X-CSRF-Token to
    unsafe requests, as the service's own front end would."""
    answers = {
        "auth_methods": EVERY_METHOD,
        "social_providers": ["oidc"],
        "token_transport": "cookie",
    }
    project, env, port = served_project(tmp_path, answers)
    key = api_key(project)
    with served(project, SLUG, tmp_path / "serve.log", env=env, port=port) as base:
        docs = DocsPage(chromium, base)
        try:
            docs.authorize(
                "PasswordBearer", oauth_username=EMAIL, oauth_password=PASSWORD
            )
            try_it(docs)
            docs.check_offline_and_policy()
        finally:
            docs.close()

        docs = DocsPage(chromium, base)
        try:
            login = f'{{"email": "{EMAIL}", "password": "{PASSWORD}"}}'
            assert docs.execute(ME) == 401  # a fresh browser: no cookie yet
            assert docs.execute(LOGIN, login) == 200
            try_it(docs)
            docs.check_offline_and_policy()
        finally:
            docs.close()

        for scheme, fields in [
            ("APIKey", {"api_key_value": key}),
            (
                "HTTPBasic",
                {"auth-basic-username": EMAIL, "auth-basic-password": PASSWORD},
            ),
        ]:
            docs = DocsPage(chromium, base)
            try:
                docs.authorize(scheme, **fields)
                try_it(docs)
                docs.check_offline_and_policy()
            finally:
                docs.close()
