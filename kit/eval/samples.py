"""Per-item sample logs (lm-eval's ``--log_samples``): for every item a GGUF was scored on, the prompt text
llama.cpp was given, the completion, the answer the scorer read out of it, the reference and the score.

Built from the cached eval passes (kit.eval.phase: each pass's ``items.jsonl``) and the task's own items, never by
generating, so a fully cached run writes its logs in the time it takes to load its items. The prompt is rendered
by the engine's formatter from the GGUF's own chat template (kit.eval.engine.open_renderer, vocabulary only), so
it is the text the engine tokenized. One JSON line per item, in the task's item order, with ``SAMPLE_FIELDS``:

- ``task`` (as results name it: ``doit:code``), ``id``, ``prompt``;
- ``completion``: the reply; None where the task ranks candidates by perplexity instead of generating (DoIT's
  code, writing and role-play items) or answers in several turns (MT-Bench: ``details.answers``; ``prompt`` is
  then the first turn's);
- ``extracted``: what the scorer read out of the completion (the ``####`` number, the ``Answer:`` text, the code it
  ran, the letter); None where the scorer reads nothing out (the verifiable instructions check the whole reply) or
  found nothing;
- ``reference``: the item's reference; ``score``: the item's score;
- ``details``: the record's other fields (the reason, the asserts passed, the chance, the judge's ratings...).
"""

from __future__ import annotations

import logging
from pathlib import Path

from kit import runs
from kit.eval.tasks import for_spec

log = logging.getLogger(__name__)

SAMPLE_FIELDS = ("task", "id", "prompt", "completion", "extracted", "reference", "score", "details")


def write_samples(export_dir: Path, gguf: Path, recipe, scored: dict, folder: Path) -> list[Path]:
    """``folder/<task>.jsonl`` for every task of ``recipe`` in ``scored`` (the eval phase's scores: an optional task
    it skipped has none) on this GGUF, from the passes the eval phase cached; returns the files written."""
    from kit.eval.engine import open_renderer
    from kit.eval.phase import eval_key

    written = []
    with open_renderer(gguf) as render:
        for spec in recipe.eval.tasks:
            if spec.name not in scored:
                continue
            task = for_spec(spec)
            _, out = eval_key(export_dir, task, spec, recipe)
            if not runs.is_done(out):
                raise runs.RunError(f"{spec.name}: no cached eval pass in {out} to log samples from")
            records = runs.read_jsonl(out / runs.ITEMS)
            path = folder / f"{spec.name}.jsonl"
            runs.write_jsonl(path, task_samples(spec, task, records, recipe.eval.seed, render))
            written.append(path)
    log.info("samples of %d task(s) written to %s", len(written), folder)
    return written


def task_samples(spec, task, records: list[dict], seed: int, render) -> list[dict]:
    """One sample per record of a task pass, joined to its item (the same items the pass scored: its cache key
    holds the task's version, n and seed)."""
    items = {item["id"]: item for item in task.load_items(spec.n, seed)}
    lost = [r["id"] for r in records if r["id"] not in items]
    if lost:
        raise runs.RunError(f"{spec.name}: the task no longer has items {lost[:3]} that its cached pass scored")
    return [sample(spec.name, task, items[r["id"]], r, render) for r in records]


def sample(name: str, task, item: dict, record: dict, render) -> dict:
    """The log line of one item (see the module docstring)."""
    details = {k: v for k, v in record.items() if k not in ("id", "completion", "extracted", "score")}
    return {
        "task": name,
        "id": record["id"],
        "prompt": render(item["messages"]),
        "completion": record.get("completion"),
        "extracted": extracted(task, item, record),
        "reference": item.get("reference"),
        "score": record["score"],
        "details": details,
    }


def extracted(task, item: dict, record: dict) -> str | None:
    """The record's own ``extracted``; for a record written before scorers stored it, the task's ``extracted`` hook
    reads it again from the completion (the code, DoIT's parsed answer); else None."""
    if "extracted" in record:
        return record["extracted"]
    hook = getattr(task, "extracted", None)
    return hook(item, record) if hook is not None else None
