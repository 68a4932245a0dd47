"""Per-item sample logs (--log-samples) on the tiny random Llama: every item's prompt as the engine renders it, its
completion, extracted answer, reference and score, for the tuned model and the baseline; a fully cached second call
(through the CLI's run and sweep) writes the same files without loading the model."""

from __future__ import annotations

import json

import pytest

from kit import runs
from kit.eval.samples import SAMPLE_FIELDS
from tests.conftest import TINY_TRAINED, tiny_run

TINY = (
    "name: tiny-samples"
    + TINY_TRAINED
    + """eval:
  tasks:
    - {task: builtin_math_easy, n: 3, max_new_tokens: 24}
    - {task: builtin_code_easy, n: 2, max_new_tokens: 24}
    - {task: builtin_general, n: 2, max_new_tokens: 16}
    - {task: p2_addsub, n: 2, max_new_tokens: 16}
    - {task: doit_mirror, subset: reasoning, n: 2, max_new_tokens: 8}
    - {task: doit_mirror, subset: code, n: 2}
  baseline: true
"""
)
TASKS = (
    "builtin_math_easy",
    "builtin_code_easy",
    "builtin_general",
    "p2_addsub",
    "doit_mirror:reasoning",
    "doit_mirror:code",
)


@pytest.fixture(scope="module")
def logged(tmp_path_factory, kit_home):
    with tiny_run(tmp_path_factory, kit_home, TINY, log_samples=True) as (path, recipe, summary, results):
        yield path, recipe, summary, results / recipe.name / "samples" / summary["run_id"]


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_scored_item_of_every_task_has_a_sample_with_every_field(logged):
    _, recipe, summary, folder = logged
    for sub in (folder, folder / "baseline"):
        assert sorted(p.name for p in sub.glob("*.jsonl")) == sorted(f"{t}.jsonl" for t in TASKS)
    for task in TASKS:
        samples = read(folder / f"{task}.jsonl")
        per_item = summary["scores"][task]["metrics"]["accuracy"]["per_item"]
        assert [s["id"] for s in samples] == list(per_item)
        for s in samples:
            assert tuple(s) == SAMPLE_FIELDS and s["task"] == task
            assert s["score"] == per_item[s["id"]] and s["reference"] is not None
            assert s["prompt"].startswith("<|im_start|>") and s["prompt"].endswith("<|im_start|>assistant\n")


def test_the_extracted_answer_is_what_each_scorer_read_out_of_the_completion(logged):
    from kit.eval import code_extract
    from kit.eval.tasks import math_answer, short_answer

    _, _, _, folder = logged
    for s in read(folder / "builtin_math_easy.jsonl"):
        assert s["extracted"] == math_answer.extract_answer(s["completion"])
    for s in read(folder / "p2_addsub.jsonl"):
        assert s["extracted"] == short_answer.extract(s["completion"])
    for s in read(folder / "builtin_code_easy.jsonl"):
        code = code_extract.extract_code(s["completion"], s["reference"]["entry_point"])
        assert s["extracted"] == (code if code.strip() else None)
    for s in read(folder / "builtin_general.jsonl"):
        assert s["extracted"] is None and "met" in s["details"]  # it checks the whole reply
    for s in read(folder / "doit_mirror:reasoning.jsonl"):  # a letter, from the reply or the A-D logits
        assert s["extracted"] == s["details"]["parsed"] and s["extracted"] in "ABCD" and s["completion"] is not None
    for s in read(folder / "doit_mirror:code.jsonl"):  # ranked by perplexity: no completion, nothing extracted
        assert s["completion"] is None and s["extracted"] is None and len(s["details"]["ppl"]) == 3


def test_the_prompt_is_the_text_the_engine_renders_and_tokenizes(logged):
    from kit.eval.engine import open_engine
    from kit.eval.tasks import for_spec

    _, recipe, summary, folder = logged
    with open_engine(summary["export"]["gguf"], n_ctx=512, n_threads=1) as engine:
        for spec in recipe.eval.tasks:
            items = {it["id"]: it for it in for_spec(spec).load_items(spec.n, recipe.eval.seed)}
            for s in read(folder / f"{spec.name}.jsonl"):
                messages = items[s["id"]]["messages"]
                assert s["prompt"] == engine.formatter(messages=messages).prompt
                assert engine.tokenize(s["prompt"]) == engine.prompt_ids(messages)


def test_a_cached_run_and_sweep_write_the_same_samples_without_loading_the_model(logged, monkeypatch):
    from kit import cli
    from kit.eval import engine

    path, recipe, summary, folder = logged
    first = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*.jsonl")}

    def refuse(*args, **kwargs):
        raise AssertionError("a cached eval loaded the model to log its samples")

    monkeypatch.setattr(engine.Engine, "__init__", refuse)
    for name in ("run", "sweep"):
        with pytest.raises(SystemExit) as done:
            cli.main([name, str(path), "--profile", "cpu", "--log-samples"])
        assert done.value.code == 0
    for again in (folder, runs.samples_dir(recipe.name, "single")):  # `kit run` names it by run id, a sweep by tag
        assert {p.relative_to(again): p.read_bytes() for p in again.rglob("*.jsonl")} == first


def test_a_cached_pass_written_before_records_carried_extracted_still_logs_it(logged):
    from kit.eval.phase import eval_key
    from kit.eval.samples import write_samples
    from kit.eval.tasks import for_spec

    _, recipe, summary, folder = logged
    export = runs.Path(summary["export"]["gguf"]).parent
    specs = [s for s in recipe.eval.tasks if s.name in ("builtin_code_easy", "doit_mirror:reasoning")]
    for spec in specs:
        items = eval_key(export, for_spec(spec), spec, recipe)[1] / runs.ITEMS
        records = runs.read_jsonl(items)
        runs.write_jsonl(items, [{k: v for k, v in r.items() if k != "extracted"} for r in records])
    older = runs.Path(str(folder) + "-older")
    write_samples(export, runs.Path(summary["export"]["gguf"]), recipe, summary["scores"], older)
    for spec in specs:
        assert (older / f"{spec.name}.jsonl").read_bytes() == (folder / f"{spec.name}.jsonl").read_bytes()
