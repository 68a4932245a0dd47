"""Zero-shot short-answer reasoning tasks (P2's twelve): one prompt convention, one answer extraction, stated
normalisations, and the multiple-choice twin of every item, scored by log-likelihood through the engine.

- **Prompt**: the question, a blank line, then ``INSTRUCTION`` (the final answer on its own last line as
  ``Answer: <answer>``). Zero-shot: no examples in the prompt, as P2 evaluates.
- **Extraction**: the text after the LAST ``Answer:`` (case-insensitive, also ``the answer is``), to the end of
  its line. There is deliberately no fallback to the last word or number of the reply: it would credit a model
  that merely echoes a name or a number from the question.
- **Normalisation**, by the item's ``kind`` (its reference says which):
  - ``text``: Unicode NFKC, lower case, markdown emphasis and backticks dropped, surrounding quotes, brackets and
    punctuation stripped, inner whitespace collapsed to one space, a leading article (a, an, the) dropped.
  - ``letters``: as ``text`` but keeping a leading "a", then every space, comma, quote, hyphen and dot removed
    (``"a b c"``, ``"A-B-C"``, ``"a.b.c."`` and ``"abc"`` match).
  - ``list``: brackets dropped, split on commas (else on whitespace), each element as ``text`` (articles kept);
    same elements in the same order.
  - ``number``: numeric equality (``math_answer.numbers_equal``) of the first number in the answer after its last
    ``=`` (so ``11 * 3 - 5 = 28`` answers 28), commas and a leading ``$`` removed.
  - ``yesno``: the first word, ``yes`` or ``no``.
  - ``choice``: one of the item's ``options`` (names, colours, animals, kinship words): right when the answer is
    the gold as ``text``, or names the gold as a whole word (``the green book`` for ``green``) and no other option.
  - **Aliases** (optional, ``text`` and ``choice``): a reference may carry ``aliases``, other forms of an answer
    that count as it (bAbI answers ``wolf`` where its stories say ``wolves``: both are right). An alias of the gold
    is right wherever the gold is, an alias of another option counts as naming that option. Items without
    aliases score exactly as before, so the version did not change; a task that adds them bumps its own.
- **Prose**: each scored reply also records ``prose`` (1 when kit.data.classify's ``code_v1`` does not call it
  code), P2's "code-tuned models still reason in prose".
- **Multiple-choice twin** (``dense_item``): the reply ``Answer: <gold>`` against ``Answer: <distractor>``
  for each distractor, scored teacher-forced on the changed words only (``kit.eval.dense.split_changes``);
  ``dense_rank`` is 1 when the gold has the highest mean log-prob per scored token, chance 1 / len(choices).
  It measures what a 135M model knows where its free generation is near 0.
"""

from __future__ import annotations

import re
import unicodedata

from kit.eval.tasks import math_answer

VERSION = "2"  # 2: a number after the last "=", hyphens and dots dropped from letters
PROSE_CLASSIFIER = "code_v1"
INSTRUCTION = "Give the final answer on the last line, written as 'Answer: <answer>'."
KINDS = ("text", "letters", "list", "number", "yesno", "choice")

_ANSWER = re.compile(r"(?:\banswer\s*(?:is)?\s*[:：]|\bthe answer is\b)[ \t]*([^\n]*)", re.IGNORECASE)
_EMPHASIS = re.compile(r"[*_`]+")
_EDGES = "\"'“”‘’«»()[]{}<>.,;:!?。 \t"
_ARTICLE = re.compile(r"^(?:a|an|the)\s+")
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


def prompt(question: str) -> str:
    """The user turn of an item: the question, then the answer-format instruction."""
    return f"{question.strip()}\n\n{INSTRUCTION}"


def extract(text: str | None) -> str | None:
    """The text after the last ``Answer:`` (or ``the answer is``) in ``text``, stripped; None if there is none."""
    found = [m.group(1).strip() for m in _ANSWER.finditer(text or "")]
    found = [f for f in found if f.strip(_EDGES)]
    return found[-1] if found else None


def normalise(answer: str, kind: str) -> str | None:
    """``answer`` in its kind's canonical form (see the module docstring); None when it has none (no number...)."""
    if kind not in KINDS:
        raise ValueError(f"unknown answer kind {kind!r}; valid: {', '.join(KINDS)}")
    text = _text(answer, articles=kind in ("text", "choice"))
    if kind in ("text", "choice"):
        return text
    if kind == "letters":
        return re.sub(r"[\s,'\".-]+", "", text)
    if kind == "list":
        return "|".join(_list_elements(answer))
    if kind == "number":
        found = _NUMBER.search(answer.rsplit("=", 1)[-1])
        return None if found is None else found.group(0).replace(",", "").replace("$", "")
    word = text.split(" ", 1)[0].strip(_EDGES) if text else ""
    return word if word in ("yes", "no") else None


def _text(answer: str, articles: bool = False) -> str:
    text = unicodedata.normalize("NFKC", answer).lower()
    text = _EMPHASIS.sub("", text)
    text = " ".join(text.split()).strip(_EDGES)
    return _ARTICLE.sub("", text).strip(_EDGES) if articles else text


def _list_elements(answer: str) -> list[str]:
    inner = unicodedata.normalize("NFKC", answer).strip().strip(_EDGES)
    parts = re.split(r"[,;]", inner) if re.search(r"[,;]", inner) else inner.split()
    return [e for e in (_text(p) for p in parts) if e]


def matches(got: str, expected: str, kind: str, options: list[str] | None = None, aliases: dict | None = None) -> bool:
    """Whether an extracted answer equals the reference under the kind's normalisation (``options``: a choice
    item's other possible answers; ``aliases``: answer -> its other accepted forms; see the module docstring)."""
    if kind == "number":
        return math_answer.numbers_equal(normalise(got, kind), normalise(str(expected), kind))
    a = normalise(got, kind)
    golds = _forms(expected, kind, aliases)
    if a is not None and a in golds:
        return True
    golds.discard("")
    if kind != "choice" or not a or not golds:
        return False
    others = {o for x in options or () for o in _forms(x, kind, aliases) if o} - golds
    return any(_names(a, g) for g in golds) and not any(_names(a, o) for o in others)


def _forms(answer, kind: str, aliases: dict | None) -> set[str]:
    """An answer and its aliases (``aliases[answer]``), normalised; forms without a canonical one are dropped."""
    raw = [str(answer), *((aliases or {}).get(str(answer), ()))]
    return {f for f in (normalise(r, kind) for r in raw) if f is not None}


def _names(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def score(item: dict, completion: str) -> dict:
    """1.0 when the ``Answer:`` line matches ``item["reference"]["answer"]`` under its ``kind``, else 0.0; ``prose``
    1.0 when the reply is not code by kit.data.classify's ``code_v1`` (None for an empty reply)."""
    reference = item["reference"]
    expected, kind = reference["answer"], reference["kind"]
    got = extract(completion)
    prose = is_prose(completion)
    if got is None:
        return {"score": 0.0, "extracted": None, "expected": expected, "reason": "no 'Answer:' line", "prose": prose}
    right = matches(got, expected, kind, reference.get("options"), reference.get("aliases"))
    reason = None if right else "wrong answer"
    return {"score": float(right), "extracted": got, "expected": expected, "reason": reason, "prose": prose}


def is_prose(completion: str) -> float | None:
    """1.0 when a reply is prose rather than code (P2: code-tuned models still reason in prose); None when empty."""
    from kit.data.classify import classify_text

    if not (completion or "").strip():
        return None
    return 0.0 if classify_text(completion, PROSE_CLASSIFIER) == "code" else 1.0


def eval_item(
    item_id: str,
    task: str,
    question: str,
    answer: str,
    kind: str,
    options: list[str] | None = None,
    aliases: dict[str, list[str]] | None = None,
) -> dict:
    """An eval item (kit.data.schema) whose reference is ``{"answer", "kind"}`` (and ``options`` for a choice,
    ``aliases`` when given: answer -> its other accepted forms)."""
    if kind not in KINDS:
        raise ValueError(f"unknown answer kind {kind!r}; valid: {', '.join(KINDS)}")
    if (kind == "choice") != (options is not None):
        raise ValueError(f"{item_id}: a 'choice' item needs options, and only a choice item has them")
    if aliases is not None and kind not in ("text", "choice"):
        raise ValueError(f"{item_id}: only 'text' and 'choice' items take aliases, not {kind!r}")
    reference = {"answer": answer, "kind": kind} | ({"options": list(options)} if options is not None else {})
    if aliases is not None:
        reference["aliases"] = {str(k): [str(f) for f in v] for k, v in aliases.items()}
    return {
        "id": item_id,
        "task": task,
        "messages": [{"role": "user", "content": prompt(question)}],
        "reference": reference,
    }


def reply(answer: str) -> str:
    """The reply a model that knows the answer gives, in the format the prompt asks for."""
    return f"Answer: {answer}"


def dense_item(item: dict, distractors: list[str]) -> dict:
    """The multiple-choice twin of an eval item: ``Answer: <gold>`` against each distractor, changed words scored.

    Every distractor must be wrong under the item's own normalisation (else the twin would mark a right answer
    wrong) and differ from the others.
    """
    from kit.eval.dense import split_changes

    reference = item["reference"]
    gold, kind = str(reference["answer"]), reference["kind"]
    if len(distractors) < 1 or len(set(distractors)) != len(distractors):
        raise ValueError(f"{item['id']}: needs distinct distractors, got {distractors}")
    right = [d for d in distractors if matches(d, gold, kind, reference.get("options"), reference.get("aliases"))]
    if right:
        raise ValueError(f"{item['id']}: distractor(s) {right} match the gold answer {gold!r} ({kind})")
    choices = split_changes(reply(gold), [reply(d) for d in distractors])
    return {"id": item["id"], "messages": item["messages"], "choices": choices}


def generated(generator, default_n: int):
    """``(load_items, dense_items)`` of a task whose items come from a built-in generator (P2's eleven): the first n
    eval items for a seed (n=None: ``default_n``; a smaller n is a prefix of a larger one), and their twins."""

    def load_items(n: int | None, seed: int) -> list[dict]:
        return generator.generate_eval(default_n if n is None else n, seed)

    def dense_items(n: int, seed: int) -> list[dict]:
        return generator.generate_dense(n, seed)

    return load_items, dense_items
