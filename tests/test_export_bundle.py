"""``kit export`` and ``kit chat`` on a scored tiny run: the folder a user shares (GGUF, model card, Modelfile), the
names a run can be given by, and a chat whose reply to an evaluated prompt is the evaluation's completion."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from kit import runs
from kit.export import bundle
from tests.conftest import REPO, TINY_TRAINED, tiny_run

# Evaluated one prompt at a time, the mode whose completions the chat REPL must reproduce exactly.
TINY = (
    "name: tiny-share"
    + TINY_TRAINED
    + """eval:
  tasks: [{task: builtin_math_easy, n: 3, max_new_tokens: 24}]
  batch_size: 1
  baseline: true
"""
)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, kit_home):
    with tiny_run(tmp_path_factory, kit_home, TINY) as (_, _, summary, results):
        yield summary, results


def _kit(*args: str, env_from: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_from or {})}
    return subprocess.run(
        [sys.executable, "-m", "kit", *args], cwd=REPO, env=env, input=stdin, capture_output=True, text=True
    )


def _env(summary: dict, results) -> dict:
    return {"KIT_HOME": str(runs.Path(summary["run_dir"]).parents[1]), "KIT_RESULTS": str(results)}


def test_a_run_is_found_by_its_summary_tag_path_or_id_prefix(scored, monkeypatch):
    summary, results = scored
    monkeypatch.setenv("KIT_HOME", str(runs.Path(summary["run_dir"]).parents[1]))
    monkeypatch.setenv("KIT_RESULTS", str(results))
    by_tag = bundle.find(f"tiny-share/{summary['run_id']}")
    (path,) = (results / "tiny-share" / "runs").glob("*.json")
    by_path = bundle.find(str(path))
    by_id = bundle.find(summary["run_id"][:6])
    assert by_tag.gguf == by_path.gguf == by_id.gguf == runs.Path(summary["export"]["gguf"])
    assert by_tag.scores == summary["scores"] and by_tag.baseline == summary["baseline_scores"]
    assert by_id.summary is None and by_id.scores["builtin_math_easy"]["task"] == "builtin_math_easy"
    with pytest.raises(bundle.ExportNotFound, match="no run 'ffffff'"):
        bundle.find("ffffff")
    with pytest.raises(bundle.ExportNotFound, match="no summary"):
        bundle.find("tiny-share/no-such-tag")


def test_export_writes_the_gguf_a_card_with_licences_and_cis_and_a_modelfile(scored, tmp_path):
    summary, results = scored
    out = tmp_path / "share"
    done = _kit(
        "export", f"tiny-share/{summary['run_id']}", "--to", str(out), "--ollama", env_from=_env(summary, results)
    )
    assert done.returncode == 0, done.stderr
    gguf = out / f"{summary['run_id']}-Q8_0.gguf"
    assert gguf.read_bytes() == runs.Path(summary["export"]["gguf"]).read_bytes()
    card = (out / "README.md").read_text()
    math = summary["scores"]["builtin_math_easy"]["metrics"]["accuracy"]
    assert f"| this model | builtin_math_easy | accuracy | {math['score']:.3f} | [" in card
    assert "| untrained base | builtin_math_easy |" in card
    assert "| base model | `tiny-random-llama` |" in card and "| data | `builtin:math_easy` |" in card
    assert "Parity with the merged model: passed" in card
    modelfile = (out / "Modelfile").read_text()
    assert f"FROM ./{gguf.name}" in modelfile and "PARAMETER temperature 0" in modelfile
    assert 'PARAMETER stop "<|im_end|>"' in modelfile and "LICENSE" in modelfile


def test_export_of_an_unknown_run_says_what_exists(scored, tmp_path):
    summary, results = scored
    done = _kit("export", "tiny-share/nope", "--to", str(tmp_path / "x"), env_from=_env(summary, results))
    assert done.returncode == 2 and summary["run_id"] in done.stderr and not (tmp_path / "x").exists()


def test_chat_answers_an_evaluated_prompt_with_the_evaluations_completion(scored):
    from kit.chat import repl
    from kit.eval.tasks import get_task

    summary, _ = scored
    result = summary["scores"]["builtin_math_easy"]
    item = get_task("builtin_math_easy").load_items(result["n"], result["seed"])[0]
    passes = (runs.Path(summary["export"]["gguf"]).parent / "eval").glob("*/DONE.json")
    done = [p for p in passes if runs.read_json(p) == result]  # this recipe's pass (a shared GGUF has others)
    record = next(r for r in runs.read_jsonl(done[0].parent / runs.ITEMS) if r["id"] == item["id"])
    (question,) = [m["content"] for m in item["messages"] if m["role"] == "user"]
    assert "\n" in question
    question = question.replace("\n", "\\\n")  # typed as continued lines

    def chat(typed: str) -> tuple[list[dict], str]:
        out = io.StringIO()
        gguf = runs.Path(summary["export"]["gguf"])
        limits = {"n_ctx": result["n_ctx"], "max_tokens": result["max_new_tokens"]}
        return repl(gguf, **limits, n_threads=2, stdin=io.StringIO(typed), out=out), out.getvalue()

    history, shown = chat(f"{question}\n/reset\n/exit\n")
    assert history == [] and "(conversation reset)" in shown and record["completion"] in shown
    history, _ = chat(f"{question}\n")
    assert history[-1] == {"role": "assistant", "content": record["completion"]}


def test_a_run_ids_card_quotes_each_tasks_latest_scored_pass(tmp_path):
    import os

    export = tmp_path / "export"
    for name, score, mtime in (("t-old", 0.1, 1000), ("t-new", 0.7, 2000), ("t-dense-x", 0.9, 3000)):
        runs.write_json(export / "eval" / name / "DONE.json", {"task": "t", "score": score, "metrics": {}})
        os.utime(export / "eval" / name / "DONE.json", (mtime, mtime))
    runs.write_json(export / "eval" / "u-1" / "DONE.json", {"task": "u", "score": 0.3})  # no metrics: before format 2
    assert {t: r["score"] for t, r in bundle.cached_scores(export).items()} == {"t": 0.7}
