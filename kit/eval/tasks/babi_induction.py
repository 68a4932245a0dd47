"""bAbI-Inductive, the real test set (P2 names it; bAbI task 16 "basic induction", 1,000 questions; logical): the
story and bAbI's question, exact match on the ``Answer:`` line as a ``choice`` of the story's colours; the twin's
distractors are two other colours (of the story, else of bAbI's four). Sources: kit.eval.tasks.hub_reasoning."""

from __future__ import annotations

import re

from kit.eval.tasks import hub_reasoning as hub
from kit.eval.tasks import short_answer

TASK_NUMBER = 16
VERSION = f"1-babi{hub.BABI_REVISION[:7]}-sa{short_answer.VERSION}"
DENSE_VERSION = VERSION
MAX_NEW_TOKENS = 48
DOMAIN = "logical"
ORIGIN = "P2"
PAPER_NAME = "bAbI-Inductive (bAbI task 16)"
CHANCE = 1 / 3
_COLOUR = re.compile(r"^\w+ is (?!a |an )(\w+)\.?$")


def unavailable() -> str | None:
    return hub.babi_unavailable(TASK_NUMBER)


def _items() -> list[tuple[dict, list[str]]]:
    out = []
    for k, q in enumerate(hub.babi_questions(TASK_NUMBER)):
        stated = {m.group(1).lower() for line in q["passage"].splitlines() if (m := _COLOUR.match(line.strip()))}
        options = sorted(stated | set(hub.BABI_COLOURS) | {q["answer"]})
        item_id = f"babi{TASK_NUMBER}-test-{k}"
        item = short_answer.eval_item(item_id, "babi_induction", f"{q['passage']}\n{q['question']}", q["answer"],
                                      "choice", options)  # fmt: skip
        story_first = hub.ordered_others(stated | {q["answer"]}, q["answer"], item_id)
        out.append((item, story_first + [o for o in hub.ordered_others(options, q["answer"], item_id)
                                         if o not in story_first]))  # fmt: skip
    return out


load_items, dense_items = hub.test_set(_items, "bAbI task 16 (test)")
score = short_answer.score
