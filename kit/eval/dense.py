"""Judge-free dense metrics: gold vs distractor continuations, scored teacher-forced by the engine.

An item (a task's ``dense_items``) is ``{"id", "messages": [...ending on user], "choices": [gold, d1, d2]}``,
a choice being segments ``{"text", "scored"}`` that together make the whole assistant reply. Per item:
``dense_rank`` is 1.0 when the gold has the highest mean log-prob per scored token (ties go to gold; chance
1/3 with two distractors), ``gold_logprob`` the gold's mean log-prob per scored token (nats, <= 0).
"""

from __future__ import annotations

VERSION = "1"


def score_dense(engine, items: list[dict], desc: str = "dense") -> list[dict]:
    """One record per item: ``{"id", "dense_rank", "gold_logprob", "candidate_logprobs", "n_scored"}``."""
    requests = [(engine.prompt_ids(it["messages"]), [engine.segment_ids(c) for c in it["choices"]]) for it in items]
    records = []
    for item, scores in zip(items, engine.score_many(requests, desc=desc), strict=True):
        empty = [k for k, s in enumerate(scores) if s.n_scored == 0]
        if empty:
            raise ValueError(f"dense item {item['id']}: choices {empty} have no scored tokens")
        means = [s.logprob / s.n_scored for s in scores]
        records.append(
            {
                "id": item["id"],
                "dense_rank": 1.0 if means[0] >= max(means[1:], default=means[0]) else 0.0,
                "gold_logprob": round(means[0], 6),
                "candidate_logprobs": [round(m, 6) for m in means],
                "n_scored": [s.n_scored for s in scores],
            }
        )
    return records


def split_changes(gold: str, distractors: list[str]) -> list[list[dict]]:
    """Gold and distractors as segments, scored exactly where some distractor differs from the gold.

    Each distractor's change is the span between its common prefix and suffix with the gold, widened to
    whole words (a scored span starts at the space before a word, where BPE tokenizers split anyway).
    Changes that do not overlap are scored as separate spans, in every choice (a distractor's unchanged span
    is scored too, so all choices are measured over the same places); overlapping ones merge into one.
    Returns [gold, *distractors].
    """
    changes = [_change(gold, d) for d in distractors]
    merged: list[list[int]] = []  # [start, end] in the gold's coordinates
    for start, end in sorted(changes):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out = [_segments(gold, [tuple(m) for m in merged])]
    for text, (start, _) in zip(distractors, changes, strict=True):
        delta = len(text) - len(gold)
        home = next(k for k, (s, e) in enumerate(merged) if s <= start < e or s == start)
        spans = [
            (s, e) if k < home else (s, e + delta) if k == home else (s + delta, e + delta)
            for k, (s, e) in enumerate(merged)
        ]
        out.append(_segments(text, spans))
    return out


def _change(gold: str, other: str) -> tuple[int, int]:
    """Where ``other`` differs from ``gold``: [start, end) in the gold, widened to whole words."""
    if gold == other:
        raise ValueError(f"a distractor equals the gold: {gold[:80]!r}")
    start, shortest = 0, min(len(gold), len(other))
    while start < shortest and gold[start] == other[start]:
        start += 1
    tail = 0
    while tail < shortest - start and gold[-1 - tail] == other[-1 - tail]:
        tail += 1
    while start > 0 and not gold[start - 1].isspace():  # back to the word's start...
        start -= 1
    while start > 0 and gold[start - 1].isspace():  # ...and the space before it
        start -= 1
    while tail > 0 and not gold[len(gold) - tail].isspace():  # the common tail starts at a space
        tail -= 1
    return start, len(gold) - tail


def _segments(text: str, spans: list[tuple[int, int]]) -> list[dict]:
    out, at = [], 0
    for start, end in spans:
        if start > at:
            out.append({"text": text[at:start], "scored": False})
        out.append({"text": text[start:end], "scored": True})
        at = end
    if at < len(text):
        out.append({"text": text[at:], "scored": False})
    return out
