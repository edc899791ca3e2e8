"""The answer matrix itself: it covers what it promises, and `--only` picks from it."""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import pytest

from . import matrix as matrix_module
from .matrix import (
    Outcome,
    combinations,
    main,
    numbers,
    offered_parameters,
    pairwise,
)


def test_pairwise_covers_every_pair_of_values() -> None:
    parameters = [("a", [1, 2, 3]), ("b", ["x", "y"]), ("c", [True, False])]
    rows = pairwise(parameters)
    for (first, first_values), (second, second_values) in itertools.combinations(
        parameters, 2
    ):
        for pair in itertools.product(first_values, second_values):
            assert any((row[first], row[second]) == pair for row in rows), pair


def test_every_method_subset_is_in_the_matrix() -> None:
    offered = dict(offered_parameters())
    subsets = {tuple(answers["auth_methods"]) for answers in combinations()}
    assert subsets == {tuple(subset) for subset in offered["auth_methods"]}


def test_numbers_reads_single_numbers_and_ranges() -> None:
    assert numbers("3") == {3}
    assert numbers("3, 7-9,12") == {3, 7, 8, 9, 12}


@pytest.mark.parametrize("text", ["", "x", "9-7", "1-", "2-y"])
def test_numbers_refuses_what_is_not_a_selection(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        numbers(text)


def test_only_lists_the_chosen_combinations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list", "--only", "2,4-5"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[:-2]]
    assert listed == ["2", "4", "5"]


def test_only_refuses_a_number_past_the_matrix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    past = len(combinations()) + 1
    with pytest.raises(SystemExit) as exit_:
        main(["--list", "--only", f"1,{past}"])
    assert exit_.value.code == 2
    assert f"no combination numbered {past}" in capsys.readouterr().err


def failing_when_cookie(answers: dict[str, Any]) -> Outcome:
    """Stands in for rendering and checking: fails the cookie combinations."""
    failed = answers.get("token_transport") == "cookie"
    return Outcome(answers, seconds=0.1, failures=["$ pytest\nboom"] if failed else [])


@pytest.mark.parametrize(("failing", "code"), [(True, 1), (False, 0)])
def test_a_run_reports_each_combination_and_fails_with_any(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failing: bool,
    code: int,
) -> None:
    matrix = combinations()
    cookie = [
        n for n, a in enumerate(matrix, 1) if a.get("token_transport") == "cookie"
    ]
    bearer = [
        n for n, a in enumerate(matrix, 1) if a.get("token_transport") == "bearer"
    ]
    chosen = [bearer[0], *cookie[:1]] if failing else bearer[:2]
    monkeypatch.setattr(matrix_module, "check_combination", failing_when_cookie)

    assert main(["--workers", "1", "--only", ",".join(map(str, chosen))]) == code

    out = capsys.readouterr().out
    assert f"{len(chosen)} combinations, {len(chosen) - failing} passed" in out
    assert ("    | boom" in out) is failing
    assert (f"=== #{chosen[-1]} " in out) is failing
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    table = [(row[0], row[-2]) for row in rows if "combinations," not in row]
    expected = ["FAILED" if n in cookie else "ok" for n in sorted(chosen)]
    assert table == list(zip(map(str, sorted(chosen)), expected, strict=True))
