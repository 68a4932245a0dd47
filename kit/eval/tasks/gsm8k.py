"""GSM8K test set (1,319 problems): exact match on the number after ``####``.

Items come from the file named by ``KIT_GSM8K_TEST`` (the publisher's test.jsonl), else from the hub
(openai/gsm8k, main, test). Item ids are positions in the test set, so both sources give the same sample.
"""

from __future__ import annotations

import functools
import os

from kit.data import formats
from kit.data.builtin.math import PROMPT_VERSION, prompt
from kit.data.schema import DataError
from kit.data.subset import nested_order
from kit.eval.tasks import math_answer

VERSION = f"1-prompt{PROMPT_VERSION}-scorer{math_answer.VERSION}"
MAX_NEW_TOKENS = 384
ENV_VAR = "KIT_GSM8K_TEST"
HUB_ID = "openai/gsm8k"

score = math_answer.score


@functools.lru_cache(maxsize=4)
def _test_rows(path: str | None) -> tuple[dict, ...]:
    if path:
        rows, report = formats.read_local(path, "gsm8k", source_name="gsm8k:test")
    else:
        rows, report = formats.load_hub(HUB_ID, "gsm8k", "test", source_name="gsm8k:test")
    if report["rejected"]:
        # Positions are the item ids, so a set-aside record would shift every later id.
        raise DataError(f"GSM8K test set from {path or HUB_ID}: malformed records {report['rejected_ids']}")
    return tuple(rows)


def _item(position: int, row: dict) -> dict:
    question, solution = row["messages"][0]["content"], row["messages"][1]["content"]
    return {
        "id": f"gsm8k-test-{position}",
        "task": "gsm8k",
        "messages": [{"role": "user", "content": prompt(question)}],
        "reference": {"answer": math_answer.extract_answer(solution)},
    }


def load_items(n: int | None, seed: int) -> list[dict]:
    """n test problems chosen by the nested seeded order (n=10 is a prefix of n=50); n=None means all."""
    rows = _test_rows(os.environ.get(ENV_VAR))
    items = {item["id"]: item for item in (_item(k, row) for k, row in enumerate(rows))}
    order = nested_order(items, seed)
    if n is not None and n > len(order):
        raise DataError(f"GSM8K test has {len(order)} problems; asked for n={n}")
    return [items[i] for i in order[:n]]
