"""Training backends by name, imported only when chosen.

Each is ``train(rows, job, out_dir) -> metrics`` (``job``: kit.backends.job.TrainJob) and saves a LoRA
adapter into ``out_dir``; ``job.init_adapter`` continues an earlier stage's adapter instead of a fresh one.
Training runs in a worker process (kit.backends.worker) so that Unsloth is the first thing imported there and a
crash or OOM cannot take the sweep down with it.
"""

from __future__ import annotations

from collections.abc import Callable

from kit.registry import load

BACKENDS = {
    "hf": "kit.backends.hf_lora:train",
    "unsloth": "kit.backends.unsloth_qlora:train",
}

# Bumped when a backend trains differently from the same settings; part of every stage key (kit.runs).
# hf 2: the loss projects only the trained positions through the LM head (kit.backends.sft.compact_lm_head_loss).
BACKEND_VERSIONS = {"hf": "2", "unsloth": "1"}


def get_backend(name: str) -> Callable:
    return load(name, BACKENDS, "training backend")
