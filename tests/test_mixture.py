"""Mixtures: nested subsets across fractions, manifests, clear errors for impossible requests."""

from __future__ import annotations

import pytest

from kit.data.mixture import build_mixture
from kit.data.schema import DataError
from kit.recipe import SourceSpec
from tests.conftest import SHARED_DATA


def ids(rows):
    return {r["id"] for r in rows}


def test_smaller_fractions_lie_inside_larger_ones():
    chosen = [
        ids(build_mixture([SourceSpec("builtin:code", fraction=f, pool_n=256)], seed=3)[0])
        for f in (1, 1 / 4, 1 / 16, 1 / 64, 1 / 256)
    ]
    assert [len(c) for c in chosen] == [256, 64, 16, 4, 1]
    assert all(small <= big for big, small in zip(chosen, chosen[1:]))


def test_same_seed_same_rows_other_seed_other_rows():
    spec = [SourceSpec("builtin:math", fraction=0.25, pool_n=64)]
    assert ids(build_mixture(spec, seed=1)[0]) == ids(build_mixture(spec, seed=1)[0])
    assert ids(build_mixture(spec, seed=1)[0]) != ids(build_mixture(spec, seed=2)[0])


def test_manifest_counts_every_source_and_hashes_the_chosen_ids():
    rows, manifest = build_mixture([SourceSpec("builtin:math", n=5), SourceSpec("builtin:general", n=3)], seed=0)
    assert len(rows) == manifest["total"] == 8
    assert {e["source"]: e["count"] for e in manifest["entries"]} == {"builtin:math": 5, "builtin:general": 3}
    other = build_mixture([SourceSpec("builtin:general", n=3), SourceSpec("builtin:math", n=6)], seed=0)[1]
    by_source = lambda m: {e["source"]: e["ids_sha256"] for e in m["entries"]}  # noqa: E731
    assert by_source(other)["builtin:math"] != by_source(manifest)["builtin:math"]
    assert by_source(other)["builtin:general"] == by_source(manifest)["builtin:general"]


def test_mixture_order_in_the_recipe_does_not_change_the_rows():
    a = build_mixture([SourceSpec("builtin:math", n=4), SourceSpec("builtin:code", n=2)], seed=0)[0]
    b = build_mixture([SourceSpec("builtin:code", n=2), SourceSpec("builtin:math", n=4)], seed=0)[0]
    assert [r["id"] for r in a] == [r["id"] for r in b]


def test_asking_for_more_rows_than_the_pool_has_is_an_error():
    with pytest.raises(DataError, match="pool has only 10"):
        build_mixture([SourceSpec("builtin:math", n=11, pool_n=10)], seed=0)


def test_local_gsm8k_file_with_a_capped_pool():
    path = SHARED_DATA / "gsm8k" / "train.jsonl"
    if not path.is_file():
        pytest.skip("../shared/data is absent")
    spec = SourceSpec(f"local:{path}", format="gsm8k", pool_n=512, fraction=1 / 64)
    rows, manifest = build_mixture([spec], seed=0)
    assert len(rows) == 8 and manifest["entries"][0]["pool"] == 512
    assert manifest["entries"][0]["report"]["read"] == 7473
    assert all(r["messages"][-1]["content"].rstrip().split("\n")[-1].startswith("####") for r in rows)
