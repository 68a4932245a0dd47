"""English built-in mirrors of P3's (DoIT's) abilities, for the cpu profile (no hub, no Chinese model).

Each module writes DoIT's own record format (kit.data.doit), so the cpu profile goes through the same reader,
template and scorer as the real data. A module defines:

- ``VERSION``: bumped whenever its items change;
- ``TYPE``: DoIT's ``type`` for the ability it mirrors (``reasoning``, ``understanding``, ``ethics``, ``math``,
  ``code``, ``creative_writing``, ``role_play``; ``ood`` for the held-out families);
- ``QUESTION_FORMAT``: 0 (generate, then match) or 1 (gold vs a fine and a coarse distractor, by perplexity);
- ``records(n, seed, split) -> list[dict]``: the first ``n`` distinct records of ``split`` ("train" or "eval"),
  each a DoIT record plus an ``"id"``; deterministic for (n, seed, split), a smaller n a prefix of a larger one,
  train and eval disjoint (``kit.data.builtin.draw_distinct``);

and ``generate_train, generate_eval = protocol(__name__)`` (the built-in generator protocol, kit.data.builtin).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from types import ModuleType

from kit.data import doit
from kit.data.schema import chat_row

LETTERS = "ABCDEF"
ANSWER_LETTER = "Answer with the letter of the correct option only."
ANSWER_LETTERS = "Write the letters of every correct option, and nothing else, on the last line (e.g. AC)."
ANSWER_BOXED = "Reason step by step, then put the final answer in \\boxed{}."


def mc_prompt(stem: str, options: list[str], instruction: str = ANSWER_LETTER) -> str:
    """DoIT's multiple-choice layout: the stem, then one option a line as ``A. text``, then the instruction."""
    lines = "".join(f"\n{LETTERS[k]}. {option}" for k, option in enumerate(options))
    return f"{stem}{lines}\n{instruction}"


def shuffled(rng: random.Random, gold: str, wrong: list[str]) -> tuple[list[str], str]:
    """The options in a random order, and the gold's letter."""
    options = [gold, *wrong]
    rng.shuffle(options)
    return options, LETTERS[options.index(gold)]


def record(
    item_id: str,
    messages: list[dict],
    type_: str,
    question_format: int,
    *,
    choices: list[str] | None = None,
    answer: str | None = None,
) -> dict:
    """A DoIT record (checked) with the kit's id; ``messages`` end on the assistant's gold reply."""
    out = {"id": item_id, "messages": messages, "type": type_, "question_format": question_format}
    if choices is not None:
        out["choices"] = choices
    if answer is not None:
        out["answer"] = answer
    why = doit.problem(out)
    if why:
        raise ValueError(f"built-in DoIT record {item_id}: {why}")
    return out


def exchange(user: str, assistant: str) -> list[dict]:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def train_rows(module: ModuleType, n: int, seed: int) -> list[dict]:
    """Training rows of a mirror: its train records read as DoIT's trainer reads them."""
    source = f"builtin:doit_{module.TYPE}"
    return [chat_row(r["id"], source, doit.to_messages(r)) for r in module.records(n, seed, "train")]


def eval_records(module: ModuleType, n: int, seed: int) -> list[dict]:
    return module.records(n, seed, "eval")


def protocol(name: str) -> tuple[Callable[[int, int], list[dict]], Callable[[int, int], list[dict]]]:
    """``generate_train`` and ``generate_eval`` of the mirror module called ``name``: its records, read as training
    rows or kept as evaluation records."""
    return (
        lambda n, seed: train_rows(sys.modules[name], n, seed),
        lambda n, seed: eval_records(sys.modules[name], n, seed),
    )
