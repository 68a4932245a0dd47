"""GSM8K-style answer extraction and scoring, shared by the gsm8k and builtin_math tasks.

The answer is the number after the LAST ``####`` (ScRel's regex ``#### (-?[0-9.,]+)``, commas removed).
There is deliberately no fallback to the last number in the text: exact match is on the ``####`` line.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

VERSION = "1"

_ANSWER = re.compile(r"#### (-?[0-9.,]+)")


def extract_answer(text: str) -> str | None:
    """The number on the last ``#### N`` line, commas and a sentence-ending dot removed; None if absent."""
    found = _ANSWER.findall(text or "")
    if not found:
        return None
    number = found[-1].replace(",", "").rstrip(".")
    return number if _to_decimal(number) is not None else None


def _to_decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def numbers_equal(a: object, b: object) -> bool:
    """Exact numeric equality of two answers given as str/int/float ("72", "72.0" and 72 are equal)."""
    x, y = _to_decimal(a), _to_decimal(b)
    return x is not None and y is not None and x == y


def score(item: dict, completion: str) -> dict:
    """1.0 when the ``####`` answer equals ``item["reference"]["answer"]``, else 0.0, with the reason."""
    expected = item["reference"]["answer"]
    got = extract_answer(completion)
    if got is None:
        return {"score": 0.0, "extracted": None, "expected": expected, "reason": "no '#### <number>' line"}
    right = numbers_equal(got, expected)
    return {"score": float(right), "extracted": got, "expected": expected, "reason": None if right else "wrong answer"}
