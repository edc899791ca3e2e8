"""The answer matrix: what copier.yml offers, and a pairwise-covering set of it.

Every non-empty subset of `auth_methods`, and every pair of values of any two asked
questions that offer a closed set of answers (`choices`, or `type: bool`), appears in
at least one combination. The questions and their choices are read from copier.yml,
so a question added there joins the matrix without a change here.

`nox -s matrix` runs `python -m tests.matrix`: it renders every combination and runs
the rendered project's own checks, in parallel, then prints a summary table.
"""

from __future__ import annotations

import argparse
import copy
import functools
import itertools
import os
import tempfile
import textwrap
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from copier.errors import DirtyLocalWarning

from .helpers import REPO_ROOT, Answers, render, run

# The multiselect question whose every non-empty subset is rendered.
METHODS = "auth_methods"
# What `tests/test_rendered_projects.py` runs in each rendered project, after a sync.
SYNC = ["uv", "sync", "--quiet"]


def questions() -> dict[str, dict[str, Any]]:
    """The questions of copier.yml, in order (settings, `_*`, left out).

    A copy each call: the matrix asks for them a thousand times, parsing once.
    """
    text = (REPO_ROOT / "copier.yml").read_text(encoding="utf-8")
    return copy.deepcopy(_parsed_questions(text))


@functools.lru_cache(maxsize=4)
def _parsed_questions(text: str) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(text)
    return {
        name: spec if isinstance(spec, dict) else {"default": spec}
        for name, spec in config.items()
        if not name.startswith("_")
    }


def choice_values(spec: Mapping[str, Any]) -> list[Any]:
    """The values a question offers, in copier.yml's order, for every choices form."""
    choices = spec["choices"]
    if isinstance(choices, Mapping):
        items: Iterable[Any] = choices.values()
    else:
        items = (
            choice[1] if isinstance(choice, list | tuple) else choice
            for choice in choices
        )
    return [item["value"] if isinstance(item, Mapping) else item for item in items]


def offered_parameters() -> list[tuple[str, list[Any]]]:
    """Each asked question with a closed set of answers, and the answers to cover.

    `auth_methods`: every non-empty subset. Another multiselect question: each
    choice alone and all of them together. A question with `choices`: each choice.
    A bool: true and false. Never-asked values (`when: false`) are derived, not
    answered, and are left out.
    """
    parameters: list[tuple[str, list[Any]]] = []
    for name, spec in questions().items():
        if spec.get("when") is False:
            continue
        if "choices" in spec:
            values = choice_values(spec)
            if name == METHODS:
                values = [
                    list(subset)
                    for size in range(1, len(values) + 1)
                    for subset in itertools.combinations(values, size)
                ]
            elif spec.get("multiselect"):
                values = [[value] for value in values] + (
                    [values] if len(values) > 1 else []
                )
            parameters.append((name, values))
        elif spec.get("type") == "bool":
            parameters.append((name, [True, False]))
    return parameters


def pairwise(parameters: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Answer sets covering every value pair of every two parameters (greedy, stable).

    Each new answer set starts from the first pair not yet covered and fills every
    other parameter with the value that covers the most uncovered pairs.
    """
    names = [name for name, _ in parameters]
    sizes = [len(values) for _, values in parameters]
    if len(parameters) < 2:
        single = [{name: value} for name, values in parameters for value in values]
        return single or [{}]

    def pairs_of(row: Sequence[int | None]) -> set[tuple[int, int, int, int]]:
        return {
            (i, row[i], j, row[j])
            for i, j in itertools.combinations(range(len(row)), 2)
            if row[i] is not None and row[j] is not None
        }

    uncovered = {
        (i, a, j, b)
        for i, j in itertools.combinations(range(len(sizes)), 2)
        for a in range(sizes[i])
        for b in range(sizes[j])
    }
    rows: list[list[int]] = []
    while uncovered:
        i, a, j, b = min(uncovered)
        row: list[int | None] = [None] * len(sizes)
        row[i], row[j] = a, b
        for k in range(len(sizes)):
            if row[k] is None:
                row[k] = max(
                    range(sizes[k]),
                    key=lambda value, k=k: (
                        len(pairs_of([*row[:k], value, *row[k + 1 :]]) & uncovered),
                        -value,
                    ),
                )
        full = [value for value in row if value is not None]
        rows.append(full)
        uncovered -= pairs_of(full)
    return [
        {names[k]: parameters[k][1][value] for k, value in enumerate(row)}
        for row in rows
    ]


def asked(answers: Mapping[str, Any]) -> dict[str, Any]:
    """`answers` without those Copier would not ask (`when` false for the others):
    given anyway, they would render what no user of Copier's prompts can get."""
    from .features import answer_context, jinja_template  # it imports this module

    kept: dict[str, Any] = {}
    for name, spec in questions().items():
        if name not in answers:
            continue
        when = spec.get("when", True)
        if isinstance(when, str):
            rendered = jinja_template(when).render(answer_context(kept))
            when = yaml.safe_load(rendered or "false")
        if when:
            kept[name] = answers[name]
    return kept


def combinations() -> list[dict[str, Any]]:
    """The full matrix: every auth_methods subset, every pair of the other answers
    (each combination without the answers its methods are never asked)."""
    unique: dict[str, dict[str, Any]] = {}
    for answers in pairwise(offered_parameters()):
        kept = asked(answers)
        unique.setdefault(repr(sorted(kept.items())), kept)
    return list(unique.values())


def combination_id(answers: Answers) -> str:
    """A short readable name, such as `jwt+oauth2_password-RS256-cookie-no_x`."""
    parts = []
    for name, value in answers.items():
        if isinstance(value, bool):
            parts.append(name if value else f"no_{name}")
        elif isinstance(value, list):
            parts.append("+".join(str(item) for item in value))
        else:
            parts.append(str(value))
    return "-".join(parts) or "defaults"


@dataclass
class Outcome:
    """What checking one combination gave: failed commands with their output."""

    answers: dict[str, Any]
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def check_combination(answers: dict[str, Any]) -> Outcome:
    """Render `answers`, sync the project, run its checks (those of the CI suite)."""
    # Imported here: the CI suite's list of checks, not a copy of it.
    from .test_rendered_projects import CHECKS

    outcome = Outcome(answers)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="matrix-") as folder:
        try:
            project = render(Path(folder) / "project", answers)
        except Exception as error:  # reported in the table, with the others
            outcome.failures.append(f"render: {error}")
        else:
            for command in [SYNC, *CHECKS]:
                result = run(command, cwd=project)
                if result.returncode != 0:
                    outcome.failures.append(f"$ {' '.join(command)}\n{result.stdout}")
                    if command is SYNC:
                        break
    outcome.seconds = time.perf_counter() - start
    return outcome


def _worker_setup() -> None:
    # Rendering a working tree with uncommitted changes is the point here.
    warnings.filterwarnings("ignore", category=DirtyLocalWarning)
    # The template's task reports on standard output; the table is what counts.
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


def cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "+".join(str(item) for item in value)
    return str(value)


def print_table(
    numbered: Sequence[tuple[int, Outcome]], wall: float, workers: int
) -> None:
    outcomes = [outcome for _, outcome in numbered]
    names = list(dict.fromkeys(name for o in outcomes for name in o.answers))
    rows = [
        [
            str(number),
            *(cell(o.answers[name]) if name in o.answers else "" for name in names),
            "ok" if not o.failures else "FAILED",
            f"{o.seconds:.1f}",
        ]
        for number, o in numbered
    ]
    header = ["#", *names, "result", "wall s"]
    widths = [
        max(len(text) for text in column) for column in zip(header, *rows, strict=True)
    ]
    for line in [header, ["-" * width for width in widths], *rows]:
        padded = (text.ljust(width) for text, width in zip(line, widths, strict=True))
        print("  ".join(padded).rstrip())
    failed = sum(1 for o in outcomes if o.failures)
    total = sum(o.seconds for o in outcomes)
    print(
        f"\n{len(outcomes)} combinations, {len(outcomes) - failed} passed, "
        f"{failed} failed; wall time {wall:.0f} s with {workers} workers "
        f"({total:.0f} s of checks)."
    )


def numbers(text: str) -> set[int]:
    """`3,7-9` as {3, 7, 8, 9}: the combinations `--only` names."""
    chosen: set[int] = set()
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a number or a range such as 7-9"
            ) from None
        if low > high:
            raise argparse.ArgumentTypeError(f"{part!r}: the range runs backwards")
        chosen.update(range(low, high + 1))
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s matrix --",
        description="Render and check every combination of the answer matrix.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="combinations checked at once (default: the number of CPU cores)",
    )
    parser.add_argument(
        "--list", action="store_true", help="print the combinations, check nothing"
    )
    parser.add_argument(
        "--only",
        type=numbers,
        default=None,
        metavar="N,M-K",
        help="check only these combinations (numbers as --list prints them)",
    )
    options = parser.parse_args(argv)
    matrix = combinations()
    if options.only is not None:
        unknown = sorted(options.only - set(range(1, len(matrix) + 1)))
        if unknown:
            parser.error(f"no combination numbered {unknown[0]} (1-{len(matrix)})")
    if options.list:
        for number, answers in enumerate(matrix, 1):
            if options.only is None or number in options.only:
                print(f"{number:3}  {combination_id(answers)}")
        print(f"\n{len(matrix)} combinations")
        return 0

    print(f"Checking {len(matrix)} combinations with {options.workers} workers ...")
    start = time.perf_counter()
    outcomes: dict[int, Outcome] = {}
    with ProcessPoolExecutor(
        max_workers=options.workers, initializer=_worker_setup
    ) as pool:
        futures = {
            pool.submit(check_combination, answers): number
            for number, answers in enumerate(matrix, 1)
            if options.only is None or number in options.only
        }
        for future in as_completed(futures):
            outcome = future.result()
            outcomes[futures[future]] = outcome
            status = "ok" if not outcome.failures else "FAILED"
            print(
                f"  {status:6} {outcome.seconds:6.1f} s  "
                f"#{futures[future]} {combination_id(outcome.answers)}",
                flush=True,
            )
            for failure in outcome.failures:
                print(textwrap.indent(failure, "    | "), flush=True)
    wall = time.perf_counter() - start
    ordered = sorted(outcomes.items())
    for number, outcome in ordered:
        for failure in outcome.failures:
            print(f"\n=== #{number} {combination_id(outcome.answers)}\n{failure}")
    print()
    print_table(ordered, wall, options.workers)
    return 1 if any(outcome.failures for _, outcome in ordered) else 0


if __name__ == "__main__":
    raise SystemExit(main())
