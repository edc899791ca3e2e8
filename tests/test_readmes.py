"""The READMEs: the template's own, and the one each project gets.

Render only, no `uv sync`. The rendered README is Jinja with a branch for almost
every answer, so each check runs over CI's answer sets: Markdown that stays
well-formed (a table or a heading never runs into the next paragraph), statements
that fit the project (no route it does not have), every setting of `.env.example`
documented, every link to a section of the README resolving.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .features import env_example_settings, project_answers
from .helpers import ANSWER_SETS, REPO_ROOT, SHARED_ANSWERS, Answers
from .matrix import questions

Rendered = Callable[[Answers], Path]

README_ANSWER_SETS = [
    pytest.param({}, id="defaults"),
    *ANSWER_SETS,
    pytest.param(
        {"auth_methods": ["oauth2_password"], "token_transport": "cookie"},
        id="oauth2_password-cookie",
    ),
    pytest.param(
        {"auth_methods": ["social"], "token_transport": "cookie"}, id="social-cookie"
    ),
    pytest.param(
        {"auth_methods": ["http_basic"], "rate_limiting": False}, id="basic-unlimited"
    ),
    pytest.param(dict(SHARED_ANSWERS), id="postgresql-redis"),
]

# Routes a README may name only when the project has them: (route, predicate of
# the answers).
ROUTES: list[tuple[str, Callable[[dict[str, object]], bool]]] = [
    ("/auth/login", lambda a: "jwt" in _methods(a)),
    ("/auth/token", lambda a: "oauth2_password" in _methods(a)),
    ("/auth/refresh", lambda a: _has_token_method(a)),
    ("/auth/logout", lambda a: _has_token_method(a)),
    ("/auth/api-keys", lambda a: "api_key" in _methods(a)),
    (
        "/auth/social/exchange",
        lambda a: "social" in _methods(a) and a.get("token_transport") != "cookie",
    ),
    ("/users/me/identities", lambda a: "social" in _methods(a)),
    ("/users/me/sessions", lambda a: _has_token_method(a)),
    ("/auth/register", lambda a: bool(a.get("allow_registration"))),
    ("/.well-known/jwks.json", lambda a: a.get("jwt_algorithm") != "HS256"),
]


def _methods(answers: dict[str, object]) -> list[object]:
    methods = answers["auth_methods"]
    assert isinstance(methods, list)
    return methods


def _has_token_method(answers: dict[str, object]) -> bool:
    return bool({"jwt", "oauth2_password", "social"} & set(_methods(answers)))


def prose_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(number, line, previous line) of the lines outside fenced code blocks."""
    fenced = False
    previous = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            fenced = not fenced
            previous = line
            continue
        if not fenced:
            yield number, line, previous
            previous = line
    assert not fenced, "a fenced code block is never closed"


def markdown_problems(text: str) -> list[str]:
    """Where Markdown would not render as written: a table without a blank line
    around it, a heading run into its paragraph, two blank lines in a row."""
    problems = []
    in_table = False
    lines = list(prose_lines(text))
    for index, (number, line, previous) in enumerate(lines):
        row = line.startswith("|")
        if row and not in_table and previous.strip():
            problems.append(f"{number}: a table right after text: {previous[:60]!r}")
        if in_table and not row and line.strip():
            problems.append(f"{number}: text right after a table: {line[:60]!r}")
        in_table = row
        following = lines[index + 1][1] if index + 1 < len(lines) else ""
        if line.startswith("#") and following.strip():
            problems.append(f"{number}: a heading runs into {following[:60]!r}")
        if not line.strip() and not previous.strip() and number > 1:
            problems.append(f"{number}: two blank lines")
        if line != line.rstrip():
            problems.append(f"{number}: trailing whitespace")
    return problems


def anchor(heading: str) -> str:
    """The id GitHub gives a heading: lowercase, punctuation dropped, - for spaces."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def broken_links(text: str) -> list[str]:
    """Links to a section (`](#name)`) that no heading of `text` has."""
    headings = {
        anchor(line.lstrip("#"))
        for _, line, _ in prose_lines(text)
        if line.startswith("#")
    }
    return sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - headings)


def readme(project: Path) -> str:
    return (project / "README.md").read_text(encoding="utf-8")


# The rendered README -----------------------------------------------------------------


@pytest.mark.parametrize("answers", README_ANSWER_SETS)
def test_rendered_readme_is_well_formed_markdown(
    rendered: Rendered, answers: Answers
) -> None:
    text = readme(rendered(answers))
    assert markdown_problems(text) == []
    assert broken_links(text) == []


@pytest.mark.parametrize("answers", README_ANSWER_SETS)
def test_rendered_readme_states_the_description_once(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)
    # Without its full stop: "A FastAPI service with authentication built in" is
    # the description again.
    description = str(project_answers(project)["description"]).rstrip(". ")
    assert readme(project).count(description) == 1


@pytest.mark.parametrize("answers", README_ANSWER_SETS)
def test_rendered_readme_names_only_routes_the_project_has(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)
    recorded = project_answers(project)
    recorded.setdefault("allow_registration", False)
    recorded.setdefault("jwt_algorithm", "HS256")
    recorded.setdefault("token_transport", "bearer")
    text = readme(project)
    # `/auth/token` is not named by `auth/tokens/`; `/users/me/sessions/{id}` names
    # `/users/me/sessions`.
    named = {
        route for route, _ in ROUTES if re.search(re.escape(route) + r"(?![\w-])", text)
    }
    present = {route for route, has in ROUTES if has(recorded)}
    assert named - present == set()


@pytest.mark.parametrize("answers", README_ANSWER_SETS)
def test_rendered_readme_documents_every_setting(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)
    text = readme(project)
    undocumented = {name for name in env_example_settings(project) if name not in text}
    assert undocumented == set()


def test_rendered_readme_run_block_stays_the_run_command(rendered: Rendered) -> None:
    """The Try it section's first block starts the service the way Run it does."""
    text = readme(rendered({}))
    section = text.split("## Try it with curl", 1)[1].split("\n## ", 1)[0]
    first = re.search(r"```console\n(.*?)\n```", section, re.DOTALL)
    assert first is not None
    slug = str(project_answers(rendered({}))["project_slug"])
    assert first.group(1).splitlines()[-1] == f"uv run {slug} serve"


# The template's README ---------------------------------------------------------------

TEMPLATE_README = REPO_ROOT / "README.md"


def test_template_readme_is_well_formed_markdown() -> None:
    text = TEMPLATE_README.read_text(encoding="utf-8")
    assert markdown_problems(text) == []
    assert broken_links(text) == []


def test_template_readme_lists_every_question() -> None:
    """Every question Copier may ask has its row in the Questions table."""
    text = TEMPLATE_README.read_text(encoding="utf-8")
    table = text.split("## Questions\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE)
    asked = [
        name for name, spec in questions().items() if spec.get("when") is not False
    ]
    assert rows == asked


def test_template_readme_holds_the_ci_test_command() -> None:
    """CI runs the test command that README.md shows: .ci/run's last command."""
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.rstrip().splitlines()[-1]
    text = TEMPLATE_README.read_text(encoding="utf-8")
    assert f"```console\n{command}\n```" in text


def test_template_readme_tree_is_that_of_a_default_render(
    rendered: Rendered,
) -> None:
    """Every file and folder the tree shows exists in a project of the defaults."""
    text = TEMPLATE_README.read_text(encoding="utf-8")
    section = text.split("## The generated project\n", 1)[1]
    block = re.search(r"```text\n(.*?)\n```", section, re.DOTALL)
    assert block is not None
    root, *lines = block.group(1).splitlines()
    project = rendered({"project_name": root.rstrip("/").replace("-", " ")})
    parents: list[str] = []
    missing = []
    for line in lines:
        name_at = re.search(r"[^│├└─ ]", line)
        assert name_at is not None, line
        depth = name_at.start() // 4
        name = line[name_at.start() :].split()[0]
        parents = [*parents[: depth - 1], name.rstrip("/")]
        path = project.joinpath(*parents)
        if not (path.is_dir() if name.endswith("/") else path.is_file()):
            missing.append("/".join(parents))
    assert missing == []
