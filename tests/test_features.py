"""No dead code: a feature not chosen leaves nothing behind (see features.toml).

Render only, no `uv sync`: cheap enough to cover the whole answer matrix in CI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from .features import (
    TEMPLATE,
    Feature,
    conditional_template_files,
    declared_dependencies,
    env_example_settings,
    feature_problems,
    load_features,
    owner_of,
    project_answers,
    rendered_files,
    rendered_name,
)
from .helpers import ANSWER_SETS, Answers
from .matrix import combination_id, combinations

Rendered = Callable[[Answers], Path]


def answer_sets() -> list[object]:
    """The matrix and CI's representative answer sets, each once."""
    seen: set[str] = set()
    params = []
    candidates = [(answers, combination_id(answers)) for answers in combinations()]
    candidates += [(param.values[0], f"ci-{param.id}") for param in ANSWER_SETS]
    for answers, name in candidates:
        key = json.dumps(answers, sort_keys=True)
        if key not in seen:
            seen.add(key)
            params.append(pytest.param(answers, id=name))
    return params


@pytest.mark.parametrize("answers", answer_sets())
def test_rendered_project_has_exactly_its_chosen_features(
    rendered: Rendered, answers: Answers
) -> None:
    project = rendered(answers)

    assert feature_problems(project) == []


def test_every_conditional_template_file_is_owned_by_a_feature() -> None:
    features = load_features()

    orphans = [
        source
        for source, rendered in conditional_template_files()
        if owner_of(rendered, features) is None
    ]

    assert orphans == [], "declare these in features.toml"


def test_every_owned_file_is_a_conditional_template_file() -> None:
    conditional = {rendered for _, rendered in conditional_template_files()}

    stale = [
        f"{feature.name}: {path}"
        for feature in load_features()
        for path in feature.paths
        if path not in conditional
    ]

    assert stale == [], "features.toml names files that template/ does not make"


def test_features_have_distinct_owned_items() -> None:
    seen: dict[str, str] = {}
    shared = []
    for feature in load_features():
        owned = [
            *feature.paths,
            *feature.modules,
            *feature.settings,
            *feature.dependencies,
        ]
        for item in owned:
            if item in seen:
                shared.append(f"{item}: {seen[item]} and {feature.name}")
            seen.setdefault(item, feature.name)

    assert shared == []


def test_answer_dependent_files_settings_and_dependencies_are_owned(
    rendered: Rendered,
) -> None:
    # Whatever some answer sets render and others do not must belong to a feature:
    # otherwise features.toml has gone stale and the checks above miss it.
    projects = [rendered(answers) for answers in combinations()]
    features = load_features()
    package = project_answers(projects[0])["package_name"]

    def varying(kind: Callable[[Path], set[str]]) -> set[str]:
        found = [kind(project) for project in projects]
        return set.union(*found) - set.intersection(*found)

    def owned(pick: Callable[[Feature], tuple[str, ...]]) -> set[str]:
        return {item for feature in features for item in pick(feature)}

    files = {
        path
        for path in varying(rendered_files)
        if owner_of(path, features, package) is None
    }
    settings = varying(env_example_settings) - owned(lambda f: f.settings)
    dependencies = varying(declared_dependencies) - owned(lambda f: f.dependencies)

    assert (files, settings, dependencies) == (set(), set(), set())


def test_no_template_file_is_shadowed_by_another() -> None:
    # `x.py` and `x.py.jinja` both render to x.py: one of them is dead code, and which
    # one wins is up to the order Copier walks the folder in.
    sources: dict[str, list[str]] = {}
    for path in sorted(TEMPLATE.rglob("*")):
        if path.is_file():
            relative = path.relative_to(TEMPLATE).as_posix()
            sources.setdefault(rendered_name(relative), []).append(relative)

    shadowed = {
        target: names
        for target, names in sources.items()
        if len(names) > 1 and any("{%" not in name for name in names)
    }

    assert shadowed == {}
