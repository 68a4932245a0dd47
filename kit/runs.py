"""The one module that knows where things live: the cache (KIT_HOME), run directories and their ids.

Ids are content hashes of the settings that decide an output, so a run shared by two recipes is
trained once. Every file is written to a temporary name and renamed, and a phase counts as done
only when its ``DONE.json`` exists, so a killed process never leaves a half-written result behind.

KIT_HOME may be a filesystem shared by several hosts (NFS, Lustre under a Ray cluster): a phase is built by one
process on one host at a time (``locked``: a local file lock plus a claim file with a lease, kit.claims), and no
process deletes a scratch folder whose writer is alive (``staging``). What that rests on, and where it stops (a
writer frozen for longer than the lease; mixing with kits from before claims), is in kit.claims and those two.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import claims

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


def in_checkout() -> bool:
    """Whether the kit runs from its source tree (``make``, ``pip install -e .``) rather than an installed copy:
    an installed ``kit`` sits in site-packages, beside no ``pyproject.toml``."""
    return (REPO / "pyproject.toml").is_file()


# Bumped when the training/export pipeline changes in a way that changes its outputs.
PIPELINE_VERSION = "1"


class RunError(RuntimeError):
    """A phase of a run failed; the message names the phase and where its log is."""


def kit_home() -> Path:
    """The cache outside the repo for models, runs and GGUFs (``KIT_HOME``, default ~/.cache/sftkit)."""
    return Path(os.environ.get("KIT_HOME") or Path.home() / ".cache" / "sftkit").expanduser()


def content_hash(obj: Any, length: int = 12) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def file_hash(path: Path, length: int = 16) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:length]


# Training settings a stage's key leaves out: how stages chain enters only a later stage's key (as "chaining"), and
# experiment trackers (kit.backends.tracking) change what is logged, not the adapter.
NOT_IN_TRAIN_KEY = ("stage_chaining", "report_to")


def stage_keys(resolved: dict, backend: str, dtype: str) -> list[tuple[str, dict]]:
    """(stage name, key) for each stage of a run, in order: what decides each stage's adapter.

    A stage's key holds the base model, its data (with any replay named by the replayed stage's key)
    and the training settings; a later stage's also holds its parent's key hash and how it chains.
    So a stage shared by several runs (DMT's stage 1 across the k sweep) has one key and is trained once.
    """
    from kit.backends import BACKEND_VERSIONS
    from kit.recipe.schema import DEFAULT_STAGE, Stage

    train = {k: v for k, v in resolved["train"].items() if k not in NOT_IN_TRAIN_KEY}
    train = {**train, "backend": backend, "backend_version": BACKEND_VERSIONS.get(backend), "dtype": dtype}
    stages = resolved.get("stages") or [dataclasses.asdict(Stage(DEFAULT_STAGE, resolved["data"]["mixture"]))]
    keys: list[tuple[str, dict]] = []
    by_name: dict[str, dict] = {}
    for stage in stages:
        data = {"mixture": canonical(stage["mixture"]), "seed": resolved["data"]["seed"]}
        generators = generator_versions(stage["mixture"])
        if generators:  # a built-in generator's rows change with its VERSION, so its runs must too
            data["generators"] = generators
        classifiers = classifier_versions(stage["mixture"])
        if classifiers:  # so do the rows a classifier selects (a source's select:) with the classifier's
            data["classifiers"] = classifiers
        if stage["replay_stage"]:
            data["replay"] = {
                "stage": content_hash(by_name[stage["replay_stage"]]),
                "fraction": stage["replay_fraction"],
            }
        key = {
            "pipeline": PIPELINE_VERSION,
            "model": model_key(resolved["model"]),
            "data": data,
            "train": train if stage["epochs"] is None else {**train, "epochs": stage["epochs"]},
        }
        if keys:
            key |= {"parent": content_hash(keys[-1][1]), "chaining": resolved["train"]["stage_chaining"]}
        keys.append((stage["name"], key))
        by_name[stage["name"]] = key
    return keys


def model_key(model: dict) -> dict:
    """A recipe's model as run keys hold it: a .jinja chat template by its content's hash, not its path, so two
    different files never share a run; a kit template or ``tokenizer`` as written, so every run id made before
    files existed stays (``tokenizer`` needs no more: the key's ``base`` says whose template it is)."""
    from kit.data.templates import identity

    return {**model, "chat_template": identity(model["chat_template"])}


def generator_versions(mixture: list) -> dict[str, str]:
    """{built-in source: its generator's VERSION} for the mixture's built-in entries."""
    from kit.data.builtin import get_generator

    names = sorted({e["source"].split(":", 1)[1] for e in mixture if e["source"].startswith("builtin:")})
    return {f"builtin:{name}": get_generator(name).VERSION for name in names}


def classifier_versions(mixture: list) -> dict[str, str]:
    """{classifier: its VERSION} for the classifiers the mixture's entries select rows with."""
    from kit.data.classify import get_classifier

    names = sorted({e["select"]["classifier"] for e in mixture if e.get("select")})
    return {name: get_classifier(name).VERSION for name in names}


def canonical(mixture: list) -> list:
    """A mixture in its one order (by source), so [math, code] and [code, math] are the same data.

    An entry's ``select: None`` is dropped (recipes from before select existed keep their run ids), a select's
    labels are sorted into one list (``label: code`` and ``label: [code]`` select the same rows), and a local file
    is keyed by its content, not its path."""
    return sorted(map(_entry_key, mixture), key=lambda entry: json.dumps(entry, sort_keys=True, default=str))


def _entry_key(entry: dict) -> dict:
    entry = _local_by_content(entry)
    if "select" not in entry:
        return entry
    select = entry["select"]
    rest = {k: v for k, v in entry.items() if k != "select"}
    if select is None:
        return rest
    label = select["label"]
    labels = sorted({label} if isinstance(label, str) else set(label))
    return {**rest, "select": {"classifier": select["classifier"], "labels": labels}}


def _local_by_content(entry: dict) -> dict:
    """A local file as its key sees it: its name and its content's hash, not its path. The same file under another
    folder (a cluster node's mount of a shared disk) is the same data; an edited file is other data."""
    kind, _, target = entry["source"].partition(":")
    if kind != "local":
        return entry
    path = Path(target)
    return {**entry, "source": f"local:{path.name}", "content_sha256": file_hash(path)}


def train_key(resolved: dict, backend: str, dtype: str) -> dict:
    """The key of a run's last stage: what decides the adapter that gets exported and scored."""
    return stage_keys(resolved, backend, dtype)[-1][1]


@dataclass(frozen=True)
class RunDir:
    """One stage's folder under ``KIT_HOME/runs/<id>``, the id being its key's hash: every name in it is here."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    key = property(lambda self: self.path / "recipe.json")  # the stage key: what decides the adapter
    hardware = property(lambda self: self.path / "hardware.json")  # where it was (or is to be) trained
    base = property(lambda self: self.path / "base.json")  # the weights it starts from
    job = property(lambda self: self.path / "job.json")  # what the training worker is given (kit.backends.job)
    data = property(lambda self: self.path / "data")  # phase: the training rows and their manifest
    rows = property(lambda self: self.path / "data" / "train.jsonl")
    manifest = property(lambda self: self.path / "data" / "manifest.json")
    train = property(lambda self: self.path / "train")  # phase: the adapter and the training metrics
    train_log = property(lambda self: self.path / "train.log")
    train_wall = property(lambda self: self.path / "train_wall.json")
    logs = property(lambda self: self.path / "logs")  # experiment trackers' logs, one folder each (train.report_to)
    merged = property(lambda self: self.path / "merged")  # phase: the weights a later stage starts from
    merge_log = property(lambda self: self.path / "merge.log")

    def export(self, export: dict) -> Path:
        """Phase: the GGUF made with these export settings (and its parity check and evals)."""
        return export_dir(self.path, export)


def run_dir(key: dict) -> RunDir:
    return RunDir(kit_home() / "runs" / content_hash(key))


def all_runs() -> list[RunDir]:
    return [RunDir(p) for p in sorted((kit_home() / "runs").glob("*")) if p.is_dir()]


def all_baselines() -> list[Path]:
    """Every untrained base model's folder (``baseline_dir``): its export, and its scores under that."""
    return [p for p in sorted((kit_home() / "baselines").glob("*")) if p.is_dir()]


def finished_exports(run: Path) -> list[Path]:
    """A run's finished exports, one per export-settings hash (``export_dir``)."""
    return [p for p in sorted((run / "export").glob("*")) if is_done(p)]


# Export settings that decide what happens after an export, not the files it makes.
NOT_IN_EXPORT_KEY = ("allow_parity_mismatch",)


def baseline_export_dir(baseline: Path) -> Path:
    return baseline / "export"


def export_key(export: dict) -> dict:
    return {k: v for k, v in export.items() if k not in NOT_IN_EXPORT_KEY}


def baseline_dir(model: dict, export: dict) -> Path:
    """Where the untrained base model's export and scores live (shared by every recipe using it)."""
    key = {"pipeline": PIPELINE_VERSION, "model": model_key(model), "export": export_key(export)}
    return kit_home() / "baselines" / content_hash(key)


def export_dir(run: Path, export: dict) -> Path:
    return run / "export" / content_hash(export_key(export))


def models_dir() -> Path:
    return kit_home() / "models"


# An export folder's files (kit.export.worker writes them, kit.pipeline.export_phase reads them), and an eval
# pass's per-item records (kit.eval.phase).
EXPORT_JOB, EXPORT_LOG, PARITY, PHASE_SECONDS = "job.json", "export.log", "parity.json", "phase_seconds.json"
ITEMS = "items.jsonl"
EXPORT_MERGED = "merged"  # the merged HF folder inside an export (kept with export.keep_merged)


def gguf_name(quant: str) -> str:
    return f"model-{quant}.gguf"


def eval_root(export: Path) -> Path:
    """Every cached score of one GGUF (one folder per task pass, named by its settings' hash)."""
    return export / "eval"


def eval_dir(export: Path, task: str, settings: dict) -> Path:
    return eval_root(export) / f"{task}-{content_hash(settings)}"


def dense_dir(export: Path, task: str, settings: dict) -> Path:
    return eval_root(export) / f"{task}-dense-{content_hash(settings)}"


def timings_dir() -> Path:
    """What full runs cost on this machine (kit.sweep records them, kit.plan estimates from them)."""
    return kit_home() / "timings"


def timing_path(run_id: str) -> Path:
    return timings_dir() / f"{run_id}.json"


def results_root() -> Path:
    """Small result files: ``KIT_RESULTS`` (``--results``; tests set it), else the checkout's results/, else (an
    installed copy, whose package folder is no place for results) ``./results`` of the working directory."""
    if os.environ.get("KIT_RESULTS"):
        return Path(os.environ["KIT_RESULTS"]).expanduser()
    return REPO / "results" if in_checkout() else Path.cwd() / "results"


def recipe_results_dir(recipe_name: str, base: str | None = None) -> Path:
    """A recipe's result folder: ``results/<recipe>/``, or ``results/<recipe>/<base>/`` for a rerun of it with
    another base model (``model.base=...``), so that the second model's results land beside the first's."""
    folder = results_root() / recipe_name
    return folder if base is None else folder / base_slug(base)


def base_slug(base: str) -> str:
    """A base model's name as one folder name: ``mistralai/Mistral-7B-v0.1`` -> ``mistralai--Mistral-7B-v0.1``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", base.replace("/", "--")).strip("-.") or "base"


def summaries_dir(recipe_name: str, results_dir: Path | None = None) -> Path:
    """Where a recipe's run summaries go: ``<results_dir>/runs``, results_dir defaulting to the recipe's folder."""
    return (results_dir or recipe_results_dir(recipe_name)) / "runs"


def summary_path(recipe_name: str, tag: str, results_dir: Path | None = None) -> Path:
    return summaries_dir(recipe_name, results_dir) / f"{tag}.json"


def samples_dir(recipe_name: str, tag: str, results_dir: Path | None = None) -> Path:
    """A run's per-item sample logs (``--log-samples``, kit.eval.samples): ``<results_dir>/samples/<run tag>/``."""
    return (results_dir or recipe_results_dir(recipe_name)) / "samples" / tag


# --- atomic files and phases ---------------------------------------------------------------------


@contextmanager
def timed(seconds: dict, name: str) -> Iterator[None]:
    """Adds ``name``: the block's wall seconds (rounded to 0.01) to ``seconds``, also when the block fails."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = round(time.perf_counter() - start, 2)


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)
        f.write("\n")
    os.replace(tmp, path)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def read_done(phase_dir: Path) -> dict:
    """What a finished phase recorded about itself."""
    return read_json(phase_dir / "DONE.json")


def is_done(phase_dir: Path) -> bool:
    return (phase_dir / "DONE.json").is_file()


def mark_done(phase_dir: Path, info: dict) -> None:
    write_json(phase_dir / "DONE.json", info)


# The phases (by lock name) that each thread holds, so that a nested ``locked`` on one of them does not wait on itself.
_held = threading.local()


@contextmanager
def locked(phase_dir: Path) -> Iterator[None]:
    """Held while a phase is checked and built: two sweeps sharing a run on one KIT_HOME never build it (or clear
    its half-written folder) at once; the second waits, then finds it done. Re-entrant within a thread.

    Two things are held, both in ``KIT_HOME/locks``, named by the phase's path in KIT_HOME (``lock_name``). A file
    lock (``<hash>.lock``) makes waiting on this host cheap, and the operating system releases it when its process dies.
    It may not exclude another host on a shared filesystem, so a claim file (``<hash>.claim``, kit.claims) does: made
    with O_EXCL, naming its host and pid, its mtime refreshed by a heartbeat. A claim left by a killed process is
    taken over at once on its host (its pid is dead) and after the lease (``KIT_CLAIM_LEASE_S``) on another; a
    holder frozen for longer than the lease loses it while it may still write."""
    from filelock import FileLock, Timeout

    folder = kit_home() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = lock_name(phase_dir)
    held = _held.__dict__.setdefault("names", set())
    if name in held:
        yield
        return
    lock = FileLock(str(folder / f"{name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("waiting for another process to finish %s", phase_dir)
        lock.acquire()
    held.add(name)
    try:
        with claims.claimed(folder / f"{name}.claim", phase_dir):
            yield
    finally:
        held.discard(name)
        lock.release()


def lock_name(phase_dir: Path) -> str:
    """A phase's lock and claim name: the hash of its path inside KIT_HOME, so that hosts mounting a shared KIT_HOME
    at different places name it alike (a path outside KIT_HOME by its resolved absolute path)."""
    path, home = phase_dir.resolve(), kit_home().resolve()
    return content_hash(str(path.relative_to(home) if path.is_relative_to(home) else path), 16)


@contextmanager
def staging(final: Path) -> Iterator[Path]:
    """A scratch folder that becomes ``final`` only if the block finishes (rename is atomic). Callers that may race
    with another process hold ``locked(final)`` around the is-it-done check and this.

    The folder is ``.<name>.<host>-<pid>.<random>.partial`` and its mtime is kept fresh by a heartbeat while the
    block runs, so that a leftover one is deleted only when its writer is gone (``_clear_abandoned``): on a shared
    filesystem another host may be writing it right now."""
    final.parent.mkdir(parents=True, exist_ok=True)
    _clear_abandoned(final)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.{claims.owner()}.", suffix=".partial"))
    try:
        with claims.heartbeat(tmp):
            yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _clear_abandoned(final: Path) -> None:
    """Deletes the scratch folders of ``final`` whose writers are gone: on this host a dead pid, anywhere a heartbeat
    older than the lease. A folder named before writers were (``.<name>.<random>.partial``, by a kit without
    heartbeats) counts as gone once its mtime is older than the lease: a killed process's leftover then goes at the
    next build, while one that a not yet upgraded kit just made is left alone for a lease. (Such a kit would delete
    our folders blindly, so hosts sharing a KIT_HOME must all run a kit with claims.)"""
    for partial in final.parent.glob(f".{final.name}.*.partial"):
        writer_host, pid = partial_writer(partial, final.name)
        if claims.writer_gone(partial, writer_host, pid):
            log.info("removing %s, left by a writer that is gone", partial)
            shutil.rmtree(partial, ignore_errors=True)


def partial_writer(partial: Path, final_name: str) -> tuple[str | None, int | None]:
    """(host, pid) that a scratch folder's name records, or (None, None) for one named before writers were."""
    middle = partial.name[len(f".{final_name}.") : -len(".partial")]
    writer, dot, _ = middle.rpartition(".")
    writer_host, dash, pid = writer.rpartition("-")
    if not (dot and dash and pid.isdigit()):
        return None, None
    return writer_host, int(pid)
