"""P3's record format (DoIT, Song et al., arXiv 2310.19651; the authors' ``make_data.py``, ``train_sft.py`` and
``evaluate/pred.py`` read it) and its conversions: to a training row, and to an evaluation item.

A record is one JSON line::

    {"messages": [{"role": "user"|"assistant", "content"}, ...ending on the assistant's gold reply],
     "type": "reasoning",            # the ability (the scorer dispatches on it)
     "question_format": 0 | 1,       # 0: generate and match; 1: gold vs two distractors by perplexity
     "choices": [gold, d1, d2],      # question_format 1 only: exactly 3, the gold first
     "answer": "..."}                # math only: the gold of the \\boxed{} answer

Training uses every message (the loss on the assistant turns). Evaluation drops the last message (the gold
reply) and keeps it as the reference: a letter (``A``-``D``), a letter set for ethics, the boxed answer for
math, or the three choices.
"""

from __future__ import annotations

from kit.data.schema import DataError, message_problem

QUESTION_FORMATS = (0, 1)
N_CHOICES = 3  # question_format 1: gold + a fine and a coarse distractor (the authors' evaluate/pred.py asserts 3)


def problem(record: object, *, scored: bool = True) -> str | None:
    """Why ``record`` is not a DoIT record, in a short repeatable phrase (counted by the format readers); None if fine.

    ``scored=False`` checks what training reads (the authors' trainer reads ``messages`` only, so a record without
    ``type`` or ``question_format``, as a synthetic one may be, still trains); the other fields, when present, are
    checked all the same."""
    if not isinstance(record, dict):
        return "record is not a JSON object"
    if "messages" not in record:
        return "missing key 'messages'"
    bad = message_problem(record["messages"], final_role="assistant")
    if bad:
        return bad.split(", got")[0].replace("message 0", "a message")
    if any(m["role"] == "system" for m in record["messages"]):
        return "a system message (DoIT's template has none)"
    if not scored and "type" not in record and "question_format" not in record:
        return None
    if not isinstance(record.get("type"), str) or not record["type"]:
        return "missing key 'type'"
    qf = record.get("question_format")
    if qf not in QUESTION_FORMATS or isinstance(qf, bool):
        return f"'question_format' must be 0 or 1, got {qf!r}"
    if qf == 1:
        choices = record.get("choices")
        if not isinstance(choices, list) or len(choices) != N_CHOICES:
            return f"question_format 1 needs 'choices': a list of {N_CHOICES} (the gold first)"
        if not all(isinstance(c, str) and c.strip() for c in choices):
            return "a choice is empty or not a string"
        if len({c.strip() for c in choices}) != N_CHOICES:
            return "two choices are the same text"
    if "answer" in record and not isinstance(record["answer"], str):
        return "'answer' is not a string"
    return None


def to_messages(record: dict) -> list[dict]:
    """The training conversation: every message, as the authors train on it (contents stripped, as their
    ``tokenize`` does)."""
    return [{"role": m["role"], "content": m["content"].strip()} for m in record["messages"]]


def to_item(record: dict, item_id: str, task: str) -> dict:
    """An evaluation item: the prompt (every message but the gold reply) and the reference to score against."""
    why = problem(record)
    if why:
        raise DataError(f"DoIT record {item_id}: {why}")
    messages = to_messages(record)
    reference = {"type": record["type"], "question_format": record["question_format"], "gold": messages[-1]["content"]}
    if record["question_format"] == 1:
        reference["choices"] = [c.strip() for c in record["choices"]]
    if "answer" in record:
        reference["answer"] = record["answer"]
    return {"id": item_id, "task": task, "messages": messages[:-1], "reference": reference}
