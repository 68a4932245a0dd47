"""Nested seeded subsets: n=10 lies inside n=50, the order depends only on (seed, id), fractions round once."""

from __future__ import annotations

import hashlib

import pytest

from kit.data.schema import DataError
from kit.data.subset import fraction_to_n, nested_order, select_nested


def rows(n: int) -> list[dict]:
    return [{"id": f"r{k}", "source": "s", "messages": []} for k in range(n)]


def test_nested_order_sorts_by_the_seeded_sha256_of_each_id():
    ids = [f"r{k}" for k in range(20)]
    expected = sorted(ids, key=lambda i: hashlib.sha256(f"7:{i}".encode()).hexdigest())
    assert nested_order(ids, 7) == expected
    assert nested_order(ids, 7) != ids


def test_a_smaller_subset_is_a_prefix_of_a_larger_one():
    pool = rows(200)
    small, large = select_nested(pool, 10, seed=3), select_nested(pool, 50, seed=3)
    assert small == large[:10]
    assert {r["id"] for r in small} < {r["id"] for r in large}


def test_the_choice_does_not_depend_on_row_order_or_on_other_rows():
    pool = rows(100)
    chosen = {r["id"] for r in select_nested(pool, 20, seed=1)}
    assert {r["id"] for r in select_nested(list(reversed(pool)), 20, seed=1)} == chosen
    # Adding rows can only push rows out of the choice, never bring back ones it had passed over.
    grown = {r["id"] for r in select_nested(pool + rows(150)[100:], 20, seed=1)}
    assert grown - chosen <= {f"r{k}" for k in range(100, 150)}


def test_different_seeds_choose_different_subsets():
    pool = rows(100)
    assert select_nested(pool, 10, seed=0) != select_nested(pool, 10, seed=1)


def test_asking_for_more_rows_than_exist_fails():
    with pytest.raises(DataError, match="only 5"):
        select_nested(rows(5), 6, seed=0)


def test_all_rows_and_no_rows_are_valid_requests():
    assert len(select_nested(rows(5), 5, seed=0)) == 5 and select_nested(rows(5), 0, seed=0) == []


@pytest.mark.parametrize(
    ("total", "fraction", "n"),
    [(1000, 0.25, 250), (7473, 1 / 256, 29), (10, 0.01, 1), (10, 1.0, 10), (3, 0.5, 2)],
)
def test_fraction_to_n_rounds_and_never_returns_zero(total, fraction, n):
    assert fraction_to_n(total, fraction) == n


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_fraction_outside_zero_to_one_is_rejected(fraction):
    with pytest.raises(ValueError, match="fraction"):
        fraction_to_n(100, fraction)


def test_nested_fractions_give_nested_subsets():
    pool = rows(1000)
    quarter = select_nested(pool, fraction_to_n(1000, 1 / 4), seed=2)
    sixteenth = select_nested(pool, fraction_to_n(1000, 1 / 16), seed=2)
    assert quarter[: len(sixteenth)] == sixteenth
