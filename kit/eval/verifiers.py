"""Checkers for the verifiable instruction constraints (IFEval-style) used by the built-in general task.

A constraint is ``{"kind": <one of KINDS>, **params}``; ``check(constraint, text)`` says whether a response
meets it. Checks ignore surrounding whitespace and are otherwise strict; a blank response meets nothing.
"""

from __future__ import annotations

import json
import re

VERSION = "1"

_BULLET = re.compile(r"^[ \t]*[-*] +\S", re.MULTILINE)
# A sentence ends at . ! or ? (optionally followed by closing quotes/brackets) before whitespace, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\n+")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(.*)\n```$", re.DOTALL)


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def count_sentences(text: str) -> int:
    return sum(1 for part in _SENTENCE_END.split(text.strip()) if re.search(r"[A-Za-z0-9]", part))


def count_bullets(text: str) -> int:
    return len(_BULLET.findall(text))


def _bullets(c: dict, text: str) -> bool:
    return count_bullets(text) == c["n"]


def _lowercase(c: dict, text: str) -> bool:
    return text.islower()


def _keywords(c: dict, text: str) -> bool:
    # A leading word boundary only: "gardens" counts for "garden", but "start" does not count for "art".
    return all(re.search(r"\b" + re.escape(w), text, re.IGNORECASE) for w in c["words"])


def _max_words(c: dict, text: str) -> bool:
    return count_words(text) <= c["n"]


def _end_phrase(c: dict, text: str) -> bool:
    return text.lower().endswith(c["phrase"].strip().lower())


def _quoted(c: dict, text: str) -> bool:
    return len(text) >= 2 and (text[0], text[-1]) in {('"', '"'), ("\u201c", "\u201d")}


def _json_answer(c: dict, text: str) -> bool:
    # A markdown code fence around the JSON is tolerated, as IFEval does.
    fenced = _FENCE.match(text)
    try:
        obj = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError:
        return False
    return isinstance(obj, dict) and obj.get(c["key"]) not in (None, "", [], {})


def _start_word(c: dict, text: str) -> bool:
    first = re.match(r"\W*(\w+)", text)
    return bool(first) and first.group(1).lower() == c["word"].lower()


def _sentences(c: dict, text: str) -> bool:
    return count_sentences(text) == c["n"]


def _no_commas(c: dict, text: str) -> bool:
    return "," not in text and "\uff0c" not in text


_CHECKERS = {
    "bullets": _bullets,
    "lowercase": _lowercase,
    "keywords": _keywords,
    "max_words": _max_words,
    "end_phrase": _end_phrase,
    "quoted": _quoted,
    "json_answer": _json_answer,
    "start_word": _start_word,
    "sentences": _sentences,
    "no_commas": _no_commas,
}
KINDS = tuple(_CHECKERS)


def check(constraint: dict, text: str) -> bool:
    """Whether ``text`` meets ``constraint``; an unknown kind raises ValueError listing the valid ones."""
    kind = constraint.get("kind")
    if kind not in _CHECKERS:
        raise ValueError(f"unknown constraint kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    text = text.strip()
    return bool(text) and _CHECKERS[kind](constraint, text)
