"""CLUTRR, the real test set (P2 names it; config gen_train23_test2to10, 1,146 stories of 2 to 10 hops; logical):
the story and the question "How is B related to A? Complete: B is A's ___." (CLUTRR's target is B's relation to A),
exact match on the ``Answer:`` line as a ``choice`` of CLUTRR's relation words; the twin's distractors are the
relation seen from A and one generation off, in B's gender (dense version 2; 1 also offered the other gender's
word, which B's name or pronoun alone rules out). Sources: kit.eval.tasks.hub_reasoning."""

from __future__ import annotations

from kit.eval.tasks import hub_reasoning as hub
from kit.eval.tasks import short_answer

VERSION = f"1-clutrr{hub.CLUTRR_REVISION[:7]}-sa{short_answer.VERSION}"
DENSE_VERSION = f"2-clutrr{hub.CLUTRR_REVISION[:7]}-sa{short_answer.VERSION}"  # 2: same-gender distractors
MAX_NEW_TOKENS = 48
DOMAIN = "logical"
ORIGIN = "P2"
PAPER_NAME = "CLUTRR (gen_train23_test2to10)"
CHANCE = 1 / 3


def unavailable() -> str | None:
    return hub.clutrr_unavailable()


def _items() -> list[tuple[dict, list[str]]]:
    out = []
    for k, s in enumerate(hub.clutrr_stories()):
        a, b, gold = s["head"], s["tail"], s["answer"]
        question = f"{s['story']} How is {b} related to {a}? Complete: {b} is {a}'s ___."
        item = short_answer.eval_item(f"clutrr-test-{k}", "clutrr", question, gold, "choice", list(hub.KIN_WORDS))
        out.append((item, hub.kin_distractors(gold, item["id"])))
    return out


load_items, dense_items = hub.test_set(_items, "CLUTRR gen_train23_test2to10 (test)")
score = short_answer.score
