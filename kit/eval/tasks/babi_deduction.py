"""bAbI-Deductive, the real test set (P2 names it; bAbI task 15 "basic deduction", 1,000 questions; logical): the
story and bAbI's question as it is ("What is emily afraid of?"), exact match on the ``Answer:`` line as a
``choice`` of the four animals. bAbI answers with the singular (``wolf``) where its stories say ``wolves``: the
plural is an alias and counts too (version 1 asked for the singular instead). The twin's distractors are two other
animals of the story, in the singular like the gold. Sources: kit.eval.tasks.hub_reasoning."""

from __future__ import annotations

import re

from kit.eval.tasks import hub_reasoning as hub
from kit.eval.tasks import short_answer

TASK_NUMBER = 15
VERSION = f"2-babi{hub.BABI_REVISION[:7]}-sa{short_answer.VERSION}"
DENSE_VERSION = VERSION
MAX_NEW_TOKENS = 48
DOMAIN = "logical"
ORIGIN = "P2"
PAPER_NAME = "bAbI-Deductive (bAbI task 15)"
CHANCE = 1 / 3


def unavailable() -> str | None:
    return hub.babi_unavailable(TASK_NUMBER)


def _items() -> list[tuple[dict, list[str]]]:
    out = []
    for k, q in enumerate(hub.babi_questions(TASK_NUMBER)):
        words = re.findall(r"[a-z]+", q["passage"].lower())
        options = sorted({hub.BABI_ANIMALS[w] for w in words if w in hub.BABI_ANIMALS} | {q["answer"]})
        item_id = f"babi{TASK_NUMBER}-test-{k}"
        question = f"{q['passage']}\n{q['question']}"
        aliases = {o: hub.BABI_PLURALS[o] for o in options if o in hub.BABI_PLURALS}
        item = short_answer.eval_item(item_id, "babi_deduction", question, q["answer"], "choice", options, aliases)
        others = hub.ordered_others(options, q["answer"], item_id)
        out.append((item, others or hub.ordered_others(hub.BABI_ANIMALS.values(), q["answer"], item_id)))
    return out


load_items, dense_items = hub.test_set(_items, "bAbI task 15 (test)")
score = short_answer.score
