"""features.toml: what each optional feature owns, and whether a rendered project
has exactly what its answers chose.

Used by tests/test_features.py on every answer set of the matrix (render only, no
`uv sync`) and by the update tests after re-answering a question.
"""

from __future__ import annotations

import ast
import functools
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .helpers import REPO_ROOT
from .matrix import questions

FEATURES_FILE = REPO_ROOT / "features.toml"
TEMPLATE = REPO_ROOT / "template"
TEMPLATE_SUFFIX = ".jinja"
OWNED_KINDS = ("files", "modules", "settings", "dependencies", "migrations")

# Folders a project grows by being set up or used: not rendered.
NOT_RENDERED = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "keys",
}

_ENV_LINE = re.compile(r"^\s*#?\s*(?:export\s+)?([A-Z][A-Z0-9_]*)=")
_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701  (not HTML)


@functools.lru_cache(maxsize=512)
def jinja_template(text: str) -> jinja2.Template:
    """`text` compiled once: the matrix renders the same `when` and defaults often."""
    return _JINJA.from_string(text)


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    when: str
    files: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    migrations: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        """Every file the feature owns: its files and its migrations."""
        return self.files + self.migrations

    def is_on(self, context: Mapping[str, Any]) -> bool:
        return bool(_JINJA.compile_expression(self.when)(**context))


def load_features() -> list[Feature]:
    declared = tomllib.loads(FEATURES_FILE.read_text(encoding="utf-8"))["features"]
    return [
        Feature(
            name=name,
            description=spec["description"],
            when=spec["when"],
            **{key: tuple(spec.get(key, ())) for key in OWNED_KINDS},
        )
        for name, spec in declared.items()
    ]


def recorded_answers(project: Path) -> dict[str, Any]:
    """The project's answers file as it is, Copier's own `_` keys included."""
    recorded: dict[str, Any] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text("utf-8")
    )
    return recorded


def project_answers(project: Path) -> dict[str, Any]:
    """The answers recorded in the project (Copier's own `_` keys left out)."""
    recorded = recorded_answers(project)
    return {key: value for key, value in recorded.items() if not key.startswith("_")}


def answer_context(
    answers: Mapping[str, Any], src_path: str = str(REPO_ROOT)
) -> dict[str, Any]:
    """The answers, plus the values copier.yml derives from them (`when: false`).

    `src_path`: where the project was copied from, as the answers file records it
    (`_src_path`); by default this checkout, a local path.
    """
    context = dict(answers)
    context["_copier_answers"] = {**answers, "_src_path": src_path}
    for name, spec in questions().items():
        if spec.get("when") is not False or name in context:
            continue
        default = spec.get("default")
        if isinstance(default, str) and ("{{" in default or "{%" in default):
            text = jinja_template(default).render(context)
            typed = spec.get("type", "str") != "str"
            context[name] = yaml.safe_load(text) if typed else text
        else:
            context[name] = default
    return context


def rendered_files(project: Path) -> set[str]:
    """Every rendered file of the project, as a POSIX relative path."""
    files = set()
    for path in project.rglob("*"):
        relative = path.relative_to(project)
        if path.is_file() and not NOT_RENDERED.intersection(relative.parts[:-1]):
            files.add(relative.as_posix())
    return files


def env_example_settings(project: Path) -> set[str]:
    """Setting names in .env.example, active (`NAME=`) or documented (`# NAME=`)."""
    text = (project / ".env.example").read_text(encoding="utf-8")
    return {
        match.group(1) for line in text.splitlines() if (match := _ENV_LINE.match(line))
    }


def declared_dependencies(project: Path) -> set[str]:
    """Canonical names of every dependency in pyproject.toml, of every group."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text("utf-8"))
    project_table = pyproject.get("project", {})
    lists = [project_table.get("dependencies", [])]
    lists += list(project_table.get("optional-dependencies", {}).values())
    lists += list(pyproject.get("dependency-groups", {}).values())
    return {
        canonicalize_name(Requirement(item).name)
        for items in lists
        for item in items
        if isinstance(item, str)
    }


def module_name(relative: Path) -> str:
    """The dotted name: `src/pkg/auth/login.py` is `pkg.auth.login`."""
    parts = list(relative.with_suffix("").parts)
    if parts[0] == "src":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(relative: Path, source: str) -> set[str]:
    """Modules a file imports, relative imports resolved; `from a import b` gives
    both `a` and `a.b` (b may be a module)."""
    module = module_name(relative)
    package = module if relative.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=str(relative))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def python_imports(project: Path) -> dict[str, set[str]]:
    """Each rendered Python file and the modules it imports."""
    return {
        name: imports_of(Path(name), (project / name).read_text(encoding="utf-8"))
        for name in sorted(rendered_files(project))
        if name.endswith(".py")
    }


def _imports_module(imported: set[str], module: str) -> bool:
    return any(name == module or name.startswith(module + ".") for name in imported)


def feature_problems(project: Path) -> list[str]:
    """Every way the rendered project differs from what its answers chose."""
    answers = project_answers(project)
    context = answer_context(answers, recorded_answers(project)["_src_path"])
    package = answers["package_name"]
    files = rendered_files(project)
    settings = env_example_settings(project)
    dependencies = declared_dependencies(project)
    imports = python_imports(project)

    problems: list[str] = []
    for feature in load_features():
        on = feature.is_on(context)
        state = "chosen" if on else "not chosen"
        found = {
            path.format(package=package): path.format(package=package) in files
            for path in feature.paths
        }
        found |= {
            f"setting {name} in .env.example": name in settings
            for name in feature.settings
        }
        found |= {
            f"dependency {name} in pyproject.toml": canonicalize_name(name)
            in dependencies
            for name in feature.dependencies
        }
        problems += [
            f"{feature.name} ({state}): {what} {'missing' if on else 'left behind'}"
            for what, present in found.items()
            if present != on
        ]
        for dotted in feature.modules:
            module = dotted.format(package=package)
            importers = sorted(
                file
                for file, imported in imports.items()
                if module_name(Path(file)) != module
                and _imports_module(imported, module)
            )
            if not on and importers:
                problems.append(
                    f"{feature.name} ({state}): {', '.join(importers)} import {module}"
                )
            if on and not any(file.startswith("src/") for file in importers):
                problems.append(
                    f"{feature.name} ({state}): nothing in src/ imports {module}"
                )
    return problems


def rendered_name(template_path: str) -> str:
    """The project path a template file renders to when its conditions hold."""
    parts = []
    for part in template_path.split("/"):
        part = re.sub(r"\{%.*?%\}", "", part)
        part = re.sub(r"\{\{\s*package_name\s*\}\}", "{package}", part)
        parts.append(part)
    return "/".join(parts).removesuffix(TEMPLATE_SUFFIX)


def conditional_template_files() -> Iterator[tuple[str, str]]:
    """(template path, rendered path) of every file whose name has a condition."""
    for path in sorted(TEMPLATE.rglob("*")):
        relative = path.relative_to(TEMPLATE).as_posix()
        if path.is_file() and "{%" in relative:
            yield relative, rendered_name(relative)


def owner_of(
    rendered: str, features: list[Feature], package: str = "{package}"
) -> str | None:
    """The feature owning a rendered path (or a folder holding it), if any.

    `package`: the package name the path was rendered with; by default the path
    keeps the `{package}` placeholder, as in features.toml.
    """
    for feature in features:
        for path in feature.paths:
            owned = path.format(package=package).rstrip("/")
            if rendered == owned or rendered.startswith(owned + "/"):
                return feature.name
    return None
