"""The one chat-row schema every source is turned into, and the error raised for bad rows.

A training row is ``{"id": str, "source": str, "messages": [{"role", "content"}, ...]}`` with roles
``system`` (optional, first), ``user`` and ``assistant`` alternating, ending on ``assistant``.
An evaluation item is ``{"id": str, "task": str, "messages": [...prompt, ending on user...],
"reference": <task-specific JSON>}``.
"""

from __future__ import annotations

ROLES = ("system", "user", "assistant")


class DataError(ValueError):
    """A data source or row is unusable; the message names the source, the row and what to do."""


def chat_row(row_id: str, source: str, messages: list[dict]) -> dict:
    """Build a training row and check it."""
    row = {"id": str(row_id), "source": source, "messages": messages}
    validate_row(row)
    return row


def message_problem(messages: object, *, final_role: str) -> str | None:
    """Why a message list is malformed, or None when it is fine."""
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or set(m) != {"role", "content"}:
            return f"message {i} must be a dict with exactly 'role' and 'content'"
        if m["role"] not in ROLES:
            return f"message {i} has role {m['role']!r}; expected one of {ROLES}"
        if not isinstance(m["content"], str) or not m["content"].strip():
            return f"message {i} ({m['role']}) has empty or non-string content"
        if m["role"] == "system" and i != 0:
            return f"message {i}: a system message may only come first"
    turns = [m["role"] for m in messages if m["role"] != "system"]
    expected = ["user", "assistant"] * len(turns)
    if turns != expected[: len(turns)]:
        return f"roles must alternate user/assistant starting with user, got {turns}"
    if turns[-1] != final_role:
        return f"the last message must be from {final_role}, got {turns[-1]}"
    return None


def validate_row(row: dict, where: str = "") -> None:
    """Raise DataError naming the row when it does not follow the training-row schema."""
    problem = message_problem(row.get("messages"), final_role="assistant")
    if problem is None and not isinstance(row.get("id"), str):
        problem = "id must be a string"
    if problem:
        at = f" in {where}" if where else ""
        raise DataError(f"row {row.get('id')!r}{at}: {problem}")
