"""Dense (gold vs distractor) metrics: the general task's items are what they claim to be, changed spans are
cut the same way in every choice, and the dense pass scores, caches and merges into the task's metrics."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from test_engine import N_THREADS, tiny_f16  # noqa: F401  (the tiny model's f16 GGUF fixture)

from kit.eval import verifiers
from kit.eval.dense import split_changes


def joined(choice: list[dict]) -> str:
    return "".join(s["text"] for s in choice)


def test_general_dense_gold_meets_every_constraint_and_each_distractor_breaks_exactly_one():
    from kit.eval.tasks import builtin_general as task

    items = task.dense_items(300, 0)
    constraints = {it["id"]: it["reference"]["constraints"] for it in task.load_items(400, 0)}
    broken_kinds = set()
    for item in items:
        cs = constraints[item["id"]]
        gold, *distractors = (joined(c) for c in item["choices"])
        assert all(verifiers.check(c, gold) for c in cs), item["id"]
        broke = [[c["kind"] for c in cs if not verifiers.check(c, d)] for d in distractors]
        assert all(len(b) == 1 for b in broke), (item["id"], broke)
        if len(cs) == 2:
            assert sorted(b[0] for b in broke) == sorted(c["kind"] for c in cs)
        broken_kinds.update(b[0] for b in broke)
        assert len({gold, *distractors}) == 3
        shapes = [[(s["scored"], s["text"] if not s["scored"] else None) for s in c] for c in item["choices"]]
        assert shapes[0] == shapes[1] == shapes[2]  # same cuts; choices differ only inside scored segments
        assert item["messages"][-1]["role"] == "user"
    assert len(items) == 300
    assert broken_kinds == set(verifiers.KINDS)


def test_general_dense_items_are_deterministic_prefixes_from_the_eval_split():
    from kit.data.builtin import general
    from kit.eval.tasks import builtin_general as task

    small, large = task.dense_items(10, 3), task.dense_items(40, 3)
    assert small == large[:10] and small != task.dense_items(10, 4)
    train_prompts = {r["messages"][0]["content"] for r in general.generate_train(400, 3)}
    assert not train_prompts & {it["messages"][0]["content"] for it in large}


def test_split_changes_scores_each_changed_word_span_in_every_choice():
    gold = "When I think about tea, words like simple and budget come to mind. Thanks for reading."
    one, two = gold.replace("simple", "useful"), gold.replace("Thanks for reading.", "That is all for now.")
    g, d1, d2 = split_changes(gold, [one, two])
    assert [joined(c) for c in (g, d1, d2)] == [gold, one, two]
    assert [s["text"] for s in g if s["scored"]] == [" simple", " Thanks for reading."]
    assert [s["text"] for s in d1 if s["scored"]] == [" useful", " Thanks for reading."]
    assert [s["text"] for s in d2 if s["scored"]] == [" simple", " That is all for now."]
    overlapping = split_changes("a b c", ["a B c", "a Bc c"])  # both change the middle word: one span
    assert [[s["text"] for s in c if s["scored"]] for c in overlapping] == [[" b"], [" B"], [" Bc"]]
    with pytest.raises(ValueError, match="equals the gold"):
        split_changes("same", ["same"])


def test_score_dense_ranks_by_mean_logprob_per_scored_token(tiny_f16):  # noqa: F811
    from kit.eval.dense import score_dense
    from kit.eval.engine import open_engine
    from kit.eval.tasks import builtin_general as task

    items = task.dense_items(5, 0)
    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS, batch_size=4) as engine:
        records = score_dense(engine, items, desc="test")
        item = items[0]
        alone = engine.score_candidates(
            engine.prompt_ids(item["messages"]), [engine.segment_ids(c) for c in item["choices"]]
        )
    assert [r["id"] for r in records] == [it["id"] for it in items]
    means = [s.logprob / s.n_scored for s in alone]
    assert records[0]["candidate_logprobs"] == pytest.approx(means, abs=1e-4)
    for r in records:
        lps = r["candidate_logprobs"]
        assert r["gold_logprob"] == lps[0] <= 0 and r["dense_rank"] == float(lps[0] >= max(lps[1:]))


def test_dense_pass_writes_its_own_records_and_merges_into_the_task_metrics(tiny_f16, tmp_path):  # noqa: F811
    from kit import runs
    from kit.eval import phase
    from kit.eval.engine import open_engine
    from kit.eval.tasks import builtin_general as task

    recipe = SimpleNamespace(eval=SimpleNamespace(seed=0, n_ctx_tokens=512, batch_size=4, n_threads=1))
    from kit.recipe.schema import EvalTaskSpec

    spec = EvalTaskSpec(task="builtin_general", n=4, dense_n=6)
    assert phase.dense_plan(tmp_path, task, SimpleNamespace(task="builtin_general"), recipe) is None
    settings, out = phase.dense_plan(tmp_path, task, spec, recipe)
    assert out.parent == tmp_path / "eval" and out.name.startswith("builtin_general-dense-")
    with open_engine(tiny_f16 / "model-F16.gguf", n_ctx=512, n_threads=N_THREADS, batch_size=4) as engine:
        dense = phase.dense_task(engine, task, spec, settings, out, "test")
    records = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert phase._has_metrics(out) and len(records) == 6 == dense["n_items"]
    generation = {
        "score": 0.5,
        "metrics": phase.generation_metrics(
            [{"id": "a", "score": 1.0, "assert_frac": 1.0}, {"id": "b", "score": 0.0, "assert_frac": 0.5}], "v1"
        ),
    }
    merged = phase.with_dense(generation, dense)
    assert set(merged["metrics"]) == {"accuracy", "assert_frac", "dense_rank", "gold_logprob"}
    acc = merged["metrics"]["accuracy"]
    assert (acc["score"], acc["n"], acc["per_item"], acc["kind"]) == (0.5, 2, {"a": 1.0, "b": 0.0}, "generation")
    assert acc["stderr"] == pytest.approx(0.5)
    rank, gold = merged["metrics"]["dense_rank"], merged["metrics"]["gold_logprob"]
    assert rank["per_item"] == {r["id"]: r["dense_rank"] for r in records} and rank["scale"] == "unit"
    assert gold["scale"] == "logprob" and gold["score"] <= 0 and gold["kind"] == "dense"
    old = tmp_path / "old"  # a result written before metrics existed is recomputed, not read
    with runs.staging(old) as tmp:
        runs.mark_done(tmp, {"score": 0.5})
    assert runs.is_done(old) and not phase._has_metrics(old)
