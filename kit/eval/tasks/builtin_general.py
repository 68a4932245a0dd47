"""Built-in general eval: instructions with verifiable constraints; the score is the fraction of constraints met."""

from __future__ import annotations

from kit.data.builtin import general as generator
from kit.eval import verifiers

VERSION = f"1-gen{generator.VERSION}-verifiers{verifiers.VERSION}"
MAX_NEW_TOKENS = 192
# A generator has no natural "all"; n=None means this fixed eval-set size.
DEFAULT_N = 1000


def load_items(n: int | None, seed: int) -> list[dict]:
    """The first n eval instructions for ``seed`` (a smaller n is a prefix of a larger one)."""
    return generator.generate_eval(DEFAULT_N if n is None else n, seed)


def score(item: dict, completion: str) -> dict:
    """``score`` = fraction of the item's constraints met; ``all_met`` as in IFEval's strict prompt-level accuracy."""
    constraints = item["reference"]["constraints"]
    met = [verifiers.check(c, completion) for c in constraints]
    return {
        "score": sum(met) / len(met),
        "all_met": all(met),
        "met": {c["kind"]: ok for c, ok in zip(constraints, met, strict=True)},
    }


DENSE_VERSION = f"1-gen{generator.DENSE_VERSION}-verifiers{verifiers.VERSION}"


def dense_items(n: int, seed: int) -> list[dict]:
    """The first n eval instructions (in the eval order) that get two verified distractors.

    Gold: the generator's own response, which meets every constraint (as training responses do).
    Distractors: that response with one constraint broken each (one per constraint when there are two,
    two different breaks of it when there is one); each must fail exactly its broken constraint under this
    task's verifiers, else the next break is tried, and an instruction without two is skipped. Scored: the
    changed spans, widened to words and shared by all three choices (kit.eval.dense.split_changes).
    """
    from kit.eval.dense import split_changes

    items = []
    for item_id, prompt, gold, constraints, variants in generator.eval_variants(seed):
        if len(items) >= n:
            break
        if not all(verifiers.check(c, gold) for c in constraints):
            raise ValueError(f"{item_id}: the generator's gold response misses a constraint: {gold!r}")
        distractors = _pick_distractors(constraints, variants)
        if distractors:
            choices = split_changes(gold, distractors)
            items.append({"id": item_id, "messages": [{"role": "user", "content": prompt}], "choices": choices})
    return items


def broken(constraints: list[dict], text: str) -> list[str]:
    """The kinds of the constraints ``text`` fails."""
    return [c["kind"] for c in constraints if not verifiers.check(c, text)]


def _pick_distractors(constraints: list[dict], variants: list[list[str]]) -> list[str] | None:
    """Two distinct responses, each failing exactly one constraint: a different one each if there are two."""
    valid = [[v for v in vs if broken(constraints, v) == [c["kind"]]] for c, vs in zip(constraints, variants)]
    valid = [list(dict.fromkeys(vs)) for vs in valid]
    if len(constraints) == 2 and all(valid):
        return [valid[0][0], valid[1][0]]
    pool = next((vs for vs in valid if len(vs) >= 2), None)
    return pool[:2] if pool else None
