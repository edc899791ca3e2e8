"""The answer matrix itself: it covers what it promises, and `--only` picks from it."""

from __future__ import annotations

import argparse
import itertools

import pytest

from .matrix import combinations, main, numbers, offered_parameters, pairwise


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
