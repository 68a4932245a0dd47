"""The one module that knows where things live: the cache (KIT_HOME), run directories and their ids.

Ids are content hashes of the settings that decide an output, so a run shared by two recipes is
trained once. Every file is written to a temporary name and renamed, and a phase counts as done
only when its ``DONE.json`` exists, so a killed process never leaves a half-written result behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Bumped when the training/export pipeline changes in a way that changes its outputs.
PIPELINE_VERSION = "1"


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


def train_key(resolved: dict, backend: str, dtype: str) -> dict:
    """What decides a trained adapter: the base model, the data, the training settings, the backend."""
    return {
        "pipeline": PIPELINE_VERSION,
        "model": resolved["model"],
        "data": resolved["data"],
        "train": {**resolved["train"], "backend": backend, "dtype": dtype},
    }


def run_dir(key: dict) -> Path:
    return kit_home() / "runs" / content_hash(key)


def baseline_dir(model: dict, export: dict) -> Path:
    """Where the untrained base model's export and scores live (shared by every recipe using it)."""
    return kit_home() / "baselines" / content_hash({"pipeline": PIPELINE_VERSION, "model": model, "export": export})


def export_dir(run: Path, export: dict) -> Path:
    return run / "export" / content_hash(export)


def models_dir() -> Path:
    return kit_home() / "models"


# --- atomic files and phases ---------------------------------------------------------------------


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


def is_done(phase_dir: Path) -> bool:
    return (phase_dir / "DONE.json").is_file()


def mark_done(phase_dir: Path, info: dict) -> None:
    write_json(phase_dir / "DONE.json", info)


@contextmanager
def staging(final: Path) -> Iterator[Path]:
    """A scratch folder that becomes ``final`` only if the block finishes (rename is atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".partial"))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
