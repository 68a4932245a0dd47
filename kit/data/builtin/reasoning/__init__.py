"""Built-in generators of P2's zero-shot reasoning tasks (symbolic, logical, arithmetic), one module per task.

Each module defines ``VERSION`` and ``make(seed, i) -> Problem`` (candidate i for a seed, deterministic) and gets
``generate_train``, ``generate_eval`` and ``generate_dense`` from ``functions``: kit.data.builtin's conventions
(a smaller n is a prefix of a larger one; train and eval come from disjoint halves of the question space, by
``split_of`` of the question) and kit.eval.tasks.short_answer's answer convention (``Answer: <answer>``, a ``kind``
of normalisation, distractors for the multiple-choice twin). A training reply is the problem's one-line reasoning
then ``Answer: <answer>`` (P2 trains on chat data only; these rows exist as positive controls).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kit.data.builtin import draw_distinct
from kit.data.schema import chat_row
from kit.eval.tasks import short_answer


@dataclass(frozen=True)
class Problem:
    question: str
    answer: str
    kind: str  # a short_answer kind
    distractors: tuple[str, ...]  # wrong answers of the same form, for the multiple-choice twin
    why: str  # one line of reasoning, for a training reply
    options: tuple[str, ...] | None = None  # a "choice" item's possible answers (the gold among them)
    aliases: tuple[tuple[str, tuple[str, ...]], ...] | None = None  # (answer, its other accepted forms) pairs


def functions(make: Callable[[int, int], Problem], task: str, source: str, prefix: str):
    """``(generate_train, generate_eval, generate_dense)`` for a generator's ``make``."""

    def problems(n: int, seed: int, split: str):
        return (
            (item_id, p) for item_id, _, p in draw_distinct(lambda s, i: _keyed(make(s, i)), n, seed, split, prefix)
        )

    def generate_train(n: int, seed: int) -> list[dict]:
        """n training rows: the prompt, then the reasoning line and ``Answer: X``."""
        return [
            chat_row(
                item_id,
                source,
                [
                    {"role": "user", "content": short_answer.prompt(p.question)},
                    {"role": "assistant", "content": f"{p.why}\n{short_answer.reply(p.answer)}"},
                ],
            )
            for item_id, p in problems(n, seed, "train")
        ]

    def generate_eval(n: int, seed: int) -> list[dict]:
        """n eval items whose reference is ``{"answer", "kind"}`` (and ``options`` for a choice)."""
        return [_item(item_id, task, p) for item_id, p in problems(n, seed, "eval")]

    def generate_dense(n: int, seed: int) -> list[dict]:
        """The first n eval items' multiple-choice twins: ``Answer: <gold>`` against each distractor."""
        return [short_answer.dense_item(_item(i, task, p), list(p.distractors)) for i, p in problems(n, seed, "eval")]

    return generate_train, generate_eval, generate_dense


def _keyed(problem: Problem) -> tuple[str, Problem]:
    return problem.question, problem


def _item(item_id: str, task: str, p: Problem) -> dict:
    options = list(p.options) if p.options is not None else None
    aliases = {answer: list(forms) for answer, forms in p.aliases} if p.aliases is not None else None
    return short_answer.eval_item(item_id, task, p.question, p.answer, p.kind, options, aliases)


def distinct_wrong(candidates, gold: str, kind: str, want: int, options=None) -> tuple[str, ...] | None:
    """The first ``want`` candidates that are wrong under ``kind`` and differ from each other; None if too few."""
    out: list[str] = []
    for c in candidates:
        c = str(c)
        if short_answer.matches(c, gold, kind, options) or any(short_answer.matches(c, o, kind, options) for o in out):
            continue
        out.append(c)
        if len(out) == want:
            return tuple(out)
    return None


# fmt: off
FIRST_NAMES = (
    "Ann", "Bob", "Cara", "Dan", "Eva", "Finn", "Gina", "Hugo", "Iris", "Jack", "Kira", "Leo", "Maya", "Nate", "Olga",
    "Paul", "Rosa", "Sam", "Tina", "Umar", "Vera", "Will", "Yara", "Zack", "Alice", "Brian", "Chloe", "David",
    "Emily", "Frank", "Grace", "Henry", "Isla", "James", "Laura", "Mark", "Nora", "Oscar", "Peter", "Ruth", "Sofia",
    "Tom", "Lucy", "Ethan", "Mia", "Noah", "Zoe", "Omar", "Priya", "Ravi", "Elena", "Marco", "Hana", "Kenji",
)
WORDS = (
    "apple", "river", "candle", "garden", "window", "pencil", "rocket", "violin", "jacket", "lemon", "mirror",
    "tiger", "forest", "button", "castle", "dragon", "engine", "flower", "guitar", "helmet", "island", "jungle",
    "kettle", "ladder", "magnet", "needle", "orange", "parrot", "quartz", "rabbit", "saddle", "tunnel", "umbrella",
    "valley", "wallet", "yogurt", "zebra", "anchor", "basket", "cotton", "desert", "feather", "glacier", "harbor",
)
COLOURS = ("red", "green", "blue", "yellow", "white", "black", "gray", "brown", "purple", "orange", "pink")
# fmt: on
