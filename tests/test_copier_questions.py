"""copier.yml: answers are validated, and each answer set renders a clean tree."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .helpers import ANSWER_SETS, Answers, env_value, render, tree

Rendered = Callable[[Answers], Path]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        pytest.param({"project_name": " "}, "The name cannot be empty.", id="name"),
        pytest.param(
            {"package_name": "nonlocal"},
            '"nonlocal" is a Python keyword.',
            id="keyword",
        ),
        pytest.param(
            {"package_name": "pydantic_settings"},
            "Shadows an installed module.",
            id="dependency-module",
        ),
        pytest.param(
            {"package_name": "json"}, "Shadows an installed module.", id="stdlib"
        ),
        pytest.param(
            {"package_name": "1abc"},
            "Not a valid name (e.g. my_api).",
            id="digit-first",
        ),
        pytest.param(
            {"auth_methods": []}, "Select at least one method.", id="no-auth-method"
        ),
        pytest.param(
            {"auth_methods": ["social"], "social_providers": []},
            "Select at least one provider.",
            id="no-social-provider",
        ),
        pytest.param(
            {"project_slug": "Bad Slug"}, "Not a valid slug (e.g. my-api).", id="slug"
        ),
        pytest.param({"author_email": "ada@"}, "Not an email address.", id="email"),
        pytest.param(
            {"cors_origins": "https://app.example.com"},
            "Give a YAML list of origins.",
            id="cors-not-a-list",
        ),
        pytest.param(
            {"cors_origins": ["https://app.example.com", "*", "null"]},
            '"*" would let any site in.',
            id="cors-wildcard",
        ),
        pytest.param(
            {"cors_origins": ["null"]}, '"null" would let any site in.', id="cors-null"
        ),
        pytest.param(
            {"cors_origins": ["https://app.example.com/", "*"]},
            "Not a scheme://host origin.",
            id="cors-path",
        ),
        pytest.param(
            {"access_token_minutes": 0}, "Use 1 to 1440 minutes.", id="token-lifetime"
        ),
        pytest.param(
            {"refresh_token_days": 366}, "Use 1 to 365 days.", id="session-lifetime"
        ),
    ],
)
def test_invalid_answer_refused_with_validator_message(
    tmp_path: Path, answers: Answers, message: str
) -> None:
    destination = tmp_path / "project"

    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        render(destination, answers)

    assert not destination.exists()
    # Shown as is on one line of an interactive prompt: whole in 80 columns, and
    # one message even when several answers are wrong.
    assert len(str(refused.value)) < 80, refused.value
    assert str(refused.value).endswith(f": {message}")


def test_valid_origins_accepted(tmp_path: Path) -> None:
    origins = ["https://app.example.com", "http://localhost:3000"]

    project = render(tmp_path / "project", {"cors_origins": origins})

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["cors_origins"] == origins


def test_render_defaults_names_project_my_api(rendered: Rendered) -> None:
    project = rendered({})

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "my-api"
    assert answers["package_name"] == "my_api"
    assert (project / "src" / "my_api" / "__init__.py").is_file()
    assert 'name = "my-api"' in (project / "pyproject.toml").read_text()


def test_answers_file_records_token_settings(tmp_path: Path) -> None:
    # `copier update` replays the answers file: an answer missing there silently
    # falls back to its default (HS256) on the next update.
    project = render(
        tmp_path / "project", {"jwt_algorithm": "EdDSA", "access_token_minutes": 5}
    )

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["jwt_algorithm"] == "EdDSA"
    assert answers["access_token_minutes"] == 5
    assert answers["refresh_token_days"] == 7


def test_render_defaults_env_has_jwt_secret_and_is_git_ignored(
    rendered: Rendered,
) -> None:
    project = rendered({})

    assert env_value(project, "JWT_SECRET").startswith("dev-")
    ignored = (project / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert "keys/" in ignored


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_render_asymmetric_algorithm_env_has_no_jwt_secret(
    rendered: Rendered, algorithm: str
) -> None:
    project = rendered({"jwt_algorithm": algorithm})

    with pytest.raises(KeyError):
        env_value(project, "JWT_SECRET")


def test_render_jwt_secret_only_in_env(rendered: Rendered) -> None:
    project = rendered({})
    secret = env_value(project, "JWT_SECRET").encode()

    holders = [name for name, data in tree(project).items() if secret in data]

    assert holders == [".env"]


def test_render_twice_same_answers_same_files(tmp_path: Path) -> None:
    answers = {"project_name": "Twice", "jwt_algorithm": "ES256"}
    first = tree(render(tmp_path / "first", answers))
    second = tree(render(tmp_path / "second", answers))

    for files in (first, second):
        files.pop(".env")
        recorded = yaml.safe_load(files.pop(".copier-answers.yml"))
        # A dirty template tree is rendered from a fresh temporary commit each time.
        recorded.pop("_commit", None)
        files[".copier-answers.yml"] = yaml.safe_dump(recorded).encode()
    assert first == second


@pytest.mark.parametrize("answers", ANSWER_SETS)
def test_rendered_tree_is_formatted_and_lint_clean(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)

    for command in (["format", "--check", "--diff"], ["check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"ruff {command[0]}:\n{result.stdout}"


def test_render_jwt_only_has_login_and_no_password_flow(rendered: Rendered) -> None:
    routes = rendered({"auth_methods": ["jwt"]}) / "src" / "my_api" / "routes"

    assert (routes / "login.py").is_file()
    assert not (routes / "password_flow.py").exists()
    assert "python-multipart" not in (routes.parents[2] / "pyproject.toml").read_text()


def test_render_oauth2_password_only_has_password_flow_and_no_login(
    rendered: Rendered,
) -> None:
    project = rendered({"auth_methods": ["oauth2_password"]})
    routes = project / "src" / "my_api" / "routes"

    assert (routes / "password_flow.py").is_file()
    assert not (routes / "login.py").exists()
    assert "python-multipart" in (project / "pyproject.toml").read_text()


def test_render_without_registration_has_no_registration_module(
    rendered: Rendered,
) -> None:
    routes = rendered({"allow_registration": False}) / "src" / "my_api" / "routes"

    assert not (routes / "registration.py").exists()
    assert (routes / "login.py").is_file()


@pytest.mark.parametrize(
    ("method", "module"), [("api_key", "api_keys.py"), ("http_basic", "basic.py")]
)
def test_render_method_alone_has_no_token_code(
    rendered: Rendered, method: str, module: str
) -> None:
    """No tokens to issue: no token lifecycle, signing keys, PyJWT or JWT setting."""
    project = rendered({"auth_methods": [method]})
    auth = project / "src" / "my_api" / "auth"

    assert (auth / "methods" / module).is_file()
    assert not (auth / "tokens").exists()
    assert not (auth / "methods" / "bearer.py").exists()
    assert not list((project / "src" / "my_api" / "routes").glob("sessions.py"))
    assert "pyjwt" not in (project / "pyproject.toml").read_text().lower()
    assert "JWT_" not in (project / ".env.example").read_text()
    assert "JWT_" not in (project / ".env").read_text()
