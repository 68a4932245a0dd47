"""``kit export RUN --to DIR [--ollama]``: a scored run's GGUF in a folder of its own, with a model card and, on
request, an Ollama Modelfile, ready to share or to ``ollama create``.

RUN names a result the way a user meets it: ``rq1/code-f1`` (a summary under ``results/``, whose scores the card
quotes exactly; ``p2/<base>/<tag>`` for a rerun with another base model), a path to such a summary, or a run id
(or a unique prefix of one) under ``KIT_HOME/runs``, whose cached scores the card quotes (per task, the pass
written last). Nothing here loads a model.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from kit import runs
from kit.runs import RunDir

log = logging.getLogger(__name__)

MIN_PREFIX = 4


class ExportNotFound(LookupError):
    """RUN names no scored GGUF; the message says what exists instead."""


@dataclass(frozen=True)
class Scored:
    """One exported, scored model: its last stage's run folder, its GGUF and the scores the card quotes."""

    run: RunDir
    gguf: Path
    scores: dict  # task -> result (kit.eval.phase), as a summary stores it
    baseline: dict | None  # the untrained base's scores, where the summary has them
    summary: dict | None  # the results/ summary RUN named, if it named one
    recipe: str | None

    @property
    def quant(self) -> str:
        return self.gguf.stem.removeprefix("model-")

    @property
    def n_ctx(self) -> int:
        """The context the scores were computed at (the largest, where tasks differ; 2048 before any score)."""
        return max((r.get("n_ctx") or 0 for r in self.scores.values()), default=0) or 2048


def find(ref: str, quant: str | None = None) -> Scored:
    """The scored GGUF that ``ref`` names (see the module docstring)."""
    summary_file = _summary_file(ref)
    if summary_file is not None:
        return _from_summary(summary_file)
    return _from_run(ref, quant)


def _summary_file(ref: str) -> Path | None:
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        return path
    parts = ref.removesuffix(".json").split("/")
    if len(parts) in (2, 3):  # <recipe>/<tag>, or <recipe>/<base>/<tag> for a rerun with another base model
        recipe, tag = parts[0], parts[-1]
        folder = runs.summaries_dir(recipe, runs.recipe_results_dir(recipe, parts[1] if len(parts) == 3 else None))
        candidate = folder / f"{tag}.json"
        if candidate.is_file():
            return candidate
        tags = sorted(p.stem for p in folder.glob("*.json"))[:12] if folder.is_dir() else []
        raise ExportNotFound(
            f"no summary {candidate}"
            + (f"; {recipe}'s runs include: {', '.join(tags)}" if tags else f"; run `make {recipe}` first")
        )
    return None


def _from_summary(path: Path) -> Scored:
    summary = runs.read_json(path)
    if summary.get("status") != "ok":
        raise ExportNotFound(f"{path}: the run failed ({summary.get('error', 'no error recorded')}); nothing to export")
    gguf = Path(summary["export"]["gguf"])
    if not gguf.is_file():
        raise ExportNotFound(
            f"{path} names {gguf}, which is gone (KIT_HOME cleared?); rerun its recipe to rebuild it from the cache"
        )
    run = RunDir(runs.kit_home() / "runs" / summary["run_id"])
    return Scored(run, gguf, summary["scores"], summary.get("baseline_scores"), summary, summary["recipe"])


def _from_run(ref: str, quant: str | None) -> Scored:
    if len(ref) < MIN_PREFIX:
        raise ExportNotFound(f"{ref!r}: give at least {MIN_PREFIX} characters of a run id, or <recipe>/<tag>")
    matches = [r for r in runs.all_runs() if r.id.startswith(ref)]
    if not matches:
        raise ExportNotFound(
            f"no run {ref!r} under {runs.kit_home() / 'runs'} (and no summary of that name); `python -m kit ls runs` "
            "lists them"
        )
    if len(matches) > 1:
        raise ExportNotFound(f"{ref!r} matches {len(matches)} runs ({', '.join(r.id for r in matches[:6])}): say more")
    run = matches[0]
    ggufs = [gguf for export in runs.finished_exports(run.path) for gguf in sorted(export.glob("model-*.gguf"))]
    if quant is not None:
        ggufs = [g for g in ggufs if g.stem == f"model-{quant}"]
    if not ggufs:
        raise ExportNotFound(f"run {run.id} has no finished export{f' at {quant}' if quant else ''}")
    if len(ggufs) > 1:
        quants = ", ".join(g.stem.removeprefix("model-") for g in ggufs)
        raise ExportNotFound(f"run {run.id} has several exports ({quants}): choose one with --quant")
    return Scored(run, ggufs[0], cached_scores(ggufs[0].parent), None, None, None)


def cached_scores(export: Path) -> dict:
    """Per task, the generation result written last under the export's eval folder (dense passes left out)."""
    done = [p for p in runs.eval_root(export).glob("*/DONE.json") if "-dense-" not in p.parent.name]
    latest: dict[str, tuple[float, dict]] = {}
    for path in done:
        result = runs.read_json(path)
        if "metrics" in result and path.stat().st_mtime >= latest.get(result["task"], (0.0, {}))[0]:
            latest[result["task"]] = (path.stat().st_mtime, result)
    return {task: result for task, (_, result) in sorted(latest.items())}


def stage_chain(run: RunDir) -> list[RunDir]:
    """The run's stages, first to last, by following each stage key's ``parent``."""
    chain = [run]
    while (parent := runs.read_json(chain[0].key).get("parent")) is not None:
        chain.insert(0, RunDir(run.path.parent / parent))
    return chain


def write(scored: Scored, to: Path, ollama: bool = False) -> list[Path]:
    """The GGUF (hard-linked where the filesystem allows, else copied), README.md (the model card) and, with
    ``ollama``, a Modelfile, into ``to``; returns what was written. The Modelfile is worked out first, so a model
    that cannot have one fails before anything is copied."""
    from kit.export import card

    name = f"{scored.run.id}-{scored.quant}.gguf"
    text = _modelfile(scored, name) if ollama else None
    to.mkdir(parents=True, exist_ok=True)
    _place(scored.gguf, to / name)
    written = [to / name]
    (to / "README.md").write_text(card.model_card(scored, name, ollama=ollama))
    written.append(to / "README.md")
    if text is not None:
        (to / "Modelfile").write_text(text)
        written.append(to / "Modelfile")
    return written


def _modelfile(scored: Scored, gguf_name: str) -> str:
    from kit.export import card, ollama

    template, stops, _ = ollama.go_template(scored.gguf)
    return ollama.modelfile(gguf_name, template, stops, scored.n_ctx, card.licence_summary(scored))


def _place(src: Path, dst: Path) -> None:
    if dst.exists():
        if dst.stat().st_size == src.stat().st_size and runs.file_hash(dst) == runs.file_hash(src):
            return
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:  # another filesystem, or links not allowed
        shutil.copy2(src, dst)
