"""Evaluation tasks by name. Each module defines:

- ``VERSION: str``: bumped whenever prompts, item selection or scoring change; recorded in every result.
- ``MAX_NEW_TOKENS: int``: the generation budget the task needs.
- ``load_items(n: int | None, seed: int) -> list[dict]``: evaluation items (see kit.data.schema),
  deterministic for (n, seed); ``n=None`` means all; a smaller n is a prefix of a larger one.
- ``score(item: dict, completion: str) -> dict``: at least ``{"score": float in [0, 1]}``, plus details
  (the extracted answer, the failure reason...).

A task that needs more than one generation per item (multi-turn, an LLM judge) defines instead
``evaluate(engine, items, desc) -> list[dict]``, one record per item with ``id`` and ``score``.
A module that serves several item files (P3's ``doit``: one per ability) defines ``SUBSETS`` and ``SPLITS``; its
``load_items`` takes ``subset=`` and ``split=`` keywords and its ``cache_identity`` a ``subset=``; a recipe names
them (``subset:``, ``split:``) and ``for_spec`` binds them.
A record carries ``extracted`` (what the scorer read out of the completion: the number, the code, the letter...)
where its scorer reads one (P3's doit calls it ``parsed``); ``extracted(item, record) -> str | None`` reads it again
from a record written before records carried it (kit.eval.samples: the sample logs of cached evals).
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
    "ifeval": "kit.eval.tasks.ifeval",
    "humaneval": "kit.eval.tasks.humaneval",
    "mtbench": "kit.eval.tasks.mtbench",
} | {name: f"kit.eval.tasks.{name}" for name in (
    "doit", "doit_mirror",  # P3's ability files (subset: the ability): the authors' test sets, our English mirrors
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
    "ifeval": "general",
    "mtbench": "general",
} | {
    # P2's reasoning domains (each task module says its DOMAIN too; a test checks they agree)
    **dict.fromkeys(("p2_first_letter", "p2_last_letter", "p2_reverse_list", "p2_coin_flip"), "symbolic"),
    **dict.fromkeys(("p2_clutrr", "p2_babi_deduction", "p2_babi_induction", "p2_object_order"), "logical"),
    **dict.fromkeys(("clutrr", "babi_deduction", "babi_induction"), "logical"),
    **dict.fromkeys(("p2_multistep", "p2_addsub", "p2_compare"), "arithmetic"),
}


def ability_of(name: str) -> str:
    """The ability a task measures; for a subset (``doit:code@valid``) its subset, the held-out ones as ``ood``."""
    task, _, rest = name.partition(":")
    if not rest:
        return ABILITIES[name]
    subset = rest.split("@", 1)[0]
    return "ood" if subset == "ood" or subset.startswith("ceval_") else subset


def get_task(name: str) -> ModuleType:
    """The task module called ``name``; an unknown name lists the valid ones."""
    return load(name, TASKS, "eval task")


class Bound:
    """A task module bound to one subset and split: the plain task interface, those two passed as keywords."""

    def __init__(self, module: ModuleType, subset: str | None, split: str | None):
        self.module, self.subset, self.split = module, subset, split

    def __getattr__(self, name: str):
        return getattr(self.module, name)

    def load_items(self, n: int | None, seed: int) -> list[dict]:
        return self.module.load_items(n, seed, subset=self.subset, split=self.split or self.module.SPLITS[0])

    def cache_identity(self) -> dict:
        return self.module.cache_identity(subset=self.subset)


def for_spec(spec) -> ModuleType | Bound:
    """The task an eval spec names, bound to its subset and split when it gives them."""
    module = get_task(spec.task)
    if spec.subset is None and spec.split is None:
        return module
    return Bound(module, spec.subset, spec.split)
