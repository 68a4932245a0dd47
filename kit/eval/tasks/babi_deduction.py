"""bAbI-Deductive, the real test set (P2 names it; bAbI task 15 "basic deduction", 1,000 questions; logical): the
story and bAbI's question, exact match on the ``Answer:`` line as a ``choice`` of the four animals (singular, as
bAbI answers); the twin's distractors are two other animals of the story. Sources: kit.eval.tasks.hub_reasoning."""

from __future__ import annotations

import re

from kit.eval.tasks import hub_reasoning as hub
from kit.eval.tasks import short_answer

TASK_NUMBER = 15
VERSION = f"1-babi{hub.BABI_REVISION[:7]}-sa{short_answer.VERSION}"
DENSE_VERSION = VERSION
MAX_NEW_TOKENS = 48
DOMAIN = "logical"
ORIGIN = "P2"
PAPER_NAME = "bAbI-Deductive (bAbI task 15)"
CHANCE = 1 / 3
HINT = "Answer with one animal, in the singular."


def unavailable() -> str | None:
    return hub.unavailable_offline(hub.BABI_ENV)


def _items() -> list[tuple[dict, list[str]]]:
    out = []
    for k, q in enumerate(hub.babi_questions(TASK_NUMBER)):
        words = re.findall(r"[a-z]+", q["passage"].lower())
        options = sorted({hub.BABI_ANIMALS[w] for w in words if w in hub.BABI_ANIMALS} | {q["answer"]})
        item_id = f"babi{TASK_NUMBER}-test-{k}"
        question = f"{q['passage']}\n{q['question']} {HINT}"
        item = short_answer.eval_item(item_id, "babi_deduction", question, q["answer"], "choice", options)
        others = hub.ordered_others(options, q["answer"], item_id)
        out.append((item, others or hub.ordered_others(hub.BABI_ANIMALS.values(), q["answer"], item_id)))
    return out


def load_items(n: int | None, seed: int) -> list[dict]:
    return hub.nested([item for item, _ in _items()], n, seed, "bAbI task 15 (test)")


score = short_answer.score


def dense_items(n: int, seed: int) -> list[dict]:
    others = {item["id"]: o for item, o in _items()}
    return [short_answer.dense_item(it, others[it["id"]][:2]) for it in load_items(n, seed)]
