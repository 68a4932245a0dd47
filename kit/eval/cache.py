"""Completion cache: a greedy completion is stored under (model file hash, prompt tokens, decoding
settings), so re-scoring, a new scorer version or a new task over the same prompts never regenerates.

The prompt's token ids stand in for the task version: whatever changes a prompt changes its key,
and scorer changes (which do not) reuse the completions. SQLite, one row per completion written as
soon as it finishes, so a killed evaluation keeps what it had generated. One file per GGUF, in its export folder
(``for_export``): machines sharing KIT_HOME never write one SQLite file over a network filesystem.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

from kit.runs import file_hash, kit_home


def model_hash(gguf: Path) -> str:
    """The GGUF's content hash, remembered beside it (keyed by size and mtime) to skip re-reading GBs."""
    stat = gguf.stat()
    sidecar = gguf.with_name(gguf.name + ".sha256")
    stamp = f"{stat.st_size} {stat.st_mtime_ns}"
    if sidecar.is_file():
        saved_stamp, _, digest = sidecar.read_text().strip().rpartition(" ")
        if saved_stamp == stamp:
            return digest
    digest = file_hash(gguf, 32)
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(f"{stamp} {digest}\n")
    os.replace(tmp, sidecar)
    return digest


FILE = "completions.sqlite"


def for_export(export_dir: Path) -> CompletionCache:
    """The completion cache of one GGUF, in its export folder: one SQLite file per model, so that machines sharing
    KIT_HOME over a network filesystem (where SQLite's locks are not to be trusted) never write the same file.
    Completions cached before, in the one file KIT_HOME used to hold, are read through and copied in."""
    return CompletionCache(export_dir / FILE, legacy=kit_home() / FILE)


class CompletionCache:
    def __init__(self, path: Path, legacy: Path | None = None):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, model TEXT, ids TEXT)")
        self.db.commit()
        self.legacy = legacy if legacy is not None and legacy.is_file() and legacy != path else None

    @staticmethod
    def key(model: str, prompt: list[int], settings: dict) -> str:
        text = json.dumps([model, prompt, settings], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, list[int]]:
        found = {key: json.loads(ids) for key, _, ids in _rows(self.db, keys)}
        missing = [key for key in keys if key not in found]
        if missing and self.legacy is not None:
            old = sqlite3.connect(f"{self.legacy.as_uri()}?mode=ro", uri=True, timeout=60)
            try:
                rows = _rows(old, missing)
            finally:
                old.close()
            self.db.executemany("INSERT OR REPLACE INTO completions VALUES (?, ?, ?)", rows)
            self.db.commit()
            found |= {key: json.loads(ids) for key, _, ids in rows}
        return found

    def put(self, key: str, model: str, ids: list[int]) -> None:
        self.db.execute("INSERT OR REPLACE INTO completions VALUES (?, ?, ?)", (key, model, json.dumps(ids)))
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def _rows(db: sqlite3.Connection, keys: list[str]) -> list[tuple[str, str, str]]:
    """The (key, model, ids) rows of ``keys`` that ``db`` holds (asked in chunks under SQLite's variable limit)."""
    out = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out += db.execute(f"SELECT key, model, ids FROM completions WHERE key IN ({marks})", chunk).fetchall()
    return out


def cached_chat_many(
    engine, cache: CompletionCache | None, prompts: list[list[dict]], max_tokens: int, desc: str = "generating"
) -> tuple[list[str], int]:
    """Completions for every prompt, generating only the ones not cached; returns (texts, generated)."""
    from kit.eval.engine import ENGINE_VERSION

    ids = [engine.prompt_ids(p) for p in prompts]
    if cache is None:
        return [engine.text(x) for x in engine.generate_many(ids, max_tokens, desc=desc)], len(ids)
    model = model_hash(engine.path)
    settings = {
        "engine": ENGINE_VERSION,
        "max_tokens": max_tokens,
        "batch_size": engine.batch_size,
        "n_ctx": engine.n_ctx,
        "decoding": "greedy",
        # llama.cpp splits its sums across threads, so a thread count can move a near-tie
        "n_threads": engine.n_threads,
    }
    keys = [CompletionCache.key(model, p, settings) for p in ids]
    have = cache.get_many(keys)
    todo = [i for i, k in enumerate(keys) if k not in have]

    def store(j: int, out: list[int]) -> None:
        cache.put(keys[todo[j]], model, out)
        have[keys[todo[j]]] = out

    if todo:
        engine.generate_many([ids[i] for i in todo], max_tokens, on_done=store, desc=desc)
    return [engine.text(have[k]) for k in keys], len(todo)
