"""What every P3 mirror (kit/data/builtin/doit/) promises: deterministic records, a smaller n a prefix of a larger
one, other seeds other items, and train and eval halves that never share a conversation."""

from __future__ import annotations

import json

import pytest

from kit.data.builtin import get_generator
from kit.data.schema import validate_row
from kit.eval.tasks.doit_mirror import SUBSETS

MODULES = [get_generator(f"doit_{name}") for name in SUBSETS]


def conversation(record: dict) -> str:
    """What a record asks: every message before the gold reply."""
    return json.dumps(record["messages"][:-1])


@pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)
def test_deterministic_prefix_and_seed_dependent(m):
    for split in ("train", "eval"):
        assert m.records(30, 1, split) == m.records(30, 1, split)
        assert m.records(20, 2, split) == m.records(50, 2, split)[:20]
        assert [r["id"] for r in m.records(30, 1, split)] != [r["id"] for r in m.records(30, 3, split)]
    assert m.generate_eval(10, 4) == m.records(10, 4, "eval")


@pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)
def test_train_and_eval_conversations_are_disjoint_and_distinct(m):
    train = [conversation(r) for r in m.records(300, 0, "train")]
    evals = [conversation(r) for r in m.records(300, 0, "eval")] + [conversation(r) for r in m.records(300, 1, "eval")]
    assert len(set(train)) == 300 and len(set(evals[:300])) == 300
    assert not set(train) & set(evals)


@pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)
def test_generate_train_gives_valid_rows(m):
    rows = m.generate_train(40, 0)
    assert len(rows) == 40
    for row in rows:
        validate_row(row)
        assert row["source"] == f"builtin:doit_{m.TYPE}"
