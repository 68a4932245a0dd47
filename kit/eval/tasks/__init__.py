"""Evaluation tasks by name. Each module defines:

- ``VERSION: str``: bumped whenever prompts, item selection or scoring change; recorded in every result.
- ``MAX_NEW_TOKENS: int``: the generation budget the task needs.
- ``load_items(n: int | None, seed: int) -> list[dict]``: evaluation items (see kit.data.schema),
  deterministic for (n, seed); ``n=None`` means all; a smaller n is a prefix of a larger one.
- ``score(item: dict, completion: str) -> dict``: at least ``{"score": float in [0, 1]}``, plus details
  (the extracted answer, the failure reason...).

A task that needs more than one generation per item (multi-turn, an LLM judge) defines instead
``evaluate(engine, items, desc) -> list[dict]``, one record per item with ``id`` and ``score``.
Optional hooks: ``unavailable() -> str | None`` (why it cannot run here; recipes may mark such a
task ``optional``) and ``cache_identity() -> dict`` (more that decides a cached result, e.g. the judge).
"""

from __future__ import annotations

from types import ModuleType

from kit.registry import load

TASKS = {
    "builtin_math": "kit.eval.tasks.builtin_math",
    "builtin_math_easy": "kit.eval.tasks.builtin_math_easy",
    "builtin_code": "kit.eval.tasks.builtin_code",
    "builtin_code_easy": "kit.eval.tasks.builtin_code_easy",
    "builtin_general": "kit.eval.tasks.builtin_general",
    "gsm8k": "kit.eval.tasks.gsm8k",
    "humaneval": "kit.eval.tasks.humaneval",
    "mtbench": "kit.eval.tasks.mtbench",
} | {name: f"kit.eval.tasks.{name}" for name in (
    "p2_first_letter", "p2_last_letter", "p2_reverse_list", "p2_coin_flip",  # P2's symbolic domain
    "p2_clutrr", "p2_babi_deduction", "p2_babi_induction", "p2_object_order",  # logical
    "p2_multistep", "p2_addsub", "p2_compare",  # arithmetic (with GSM8K, or builtin_math_easy on the cpu profile)
    "babi_deduction", "babi_induction", "clutrr",  # the real test sets of P2's named logical tasks (gpu profile)
)}  # fmt: skip

# Which of P1's abilities a task measures (the report groups by ability).
ABILITIES = {
    "builtin_math": "math",
    "builtin_math_easy": "math",
    "gsm8k": "math",
    "builtin_code": "code",
    "builtin_code_easy": "code",
    "humaneval": "code",
    "builtin_general": "general",
    "mtbench": "general",
} | {
    # P2's reasoning domains (each task module says its DOMAIN too; a test checks they agree)
    **dict.fromkeys(("p2_first_letter", "p2_last_letter", "p2_reverse_list", "p2_coin_flip"), "symbolic"),
    **dict.fromkeys(("p2_clutrr", "p2_babi_deduction", "p2_babi_induction", "p2_object_order"), "logical"),
    **dict.fromkeys(("clutrr", "babi_deduction", "babi_induction"), "logical"),
    **dict.fromkeys(("p2_multistep", "p2_addsub", "p2_compare"), "arithmetic"),
}


def get_task(name: str) -> ModuleType:
    """The task module called ``name``; an unknown name lists the valid ones."""
    return load(name, TASKS, "eval task")
