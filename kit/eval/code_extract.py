"""Pulls the Python code out of a model's chat answer: fenced blocks first, bare code otherwise.

Used by the code tasks before the code goes to kit.eval.sandbox; pure string work, nothing is run here.
"""

from __future__ import annotations

import ast
import re

# Bumped whenever a change could turn a pass into a fail or back; part of the code tasks' VERSION.
VERSION = "1"
PYTHON_TAGS = ("python", "python3", "py", "")
CODE_START = re.compile(r"^(def |async def |class |import |from \S+ import |@)")


def extract_code(completion: str, entry_point: str | None = None) -> str:
    """The code in ``completion``: the fenced block that defines ``entry_point`` (python-tagged preferred),
    else the first python block, else the first block; without fences, the text from the first
    ``def``/``import``/``from`` line on; the completion unchanged when nothing looks like code."""
    blocks = fenced_blocks(completion)
    if blocks:
        ordered = [code for tag, code in blocks if tag in PYTHON_TAGS] + [
            code for tag, code in blocks if tag not in PYTHON_TAGS
        ]
        if entry_point:
            defines = re.compile(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.M)
            for code in ordered:
                if defines.search(code):
                    return code
        return ordered[0]
    return bare_code(completion)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language tag, code)`` for each ``` block in order; an unterminated last block runs to the end."""
    blocks: list[tuple[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = lines[i].lstrip()
        if not opening.startswith("```"):
            i += 1
            continue
        indent = len(lines[i]) - len(opening)
        tag = (opening[3:].split() or [""])[0].lower()
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].lstrip().startswith("```"):
            body.append(_unindent(lines[i], indent))
            i += 1
        i += 1  # past the closing fence
        blocks.append((tag, "\n".join(body).strip("\n") + "\n"))
    return blocks


def bare_code(text: str) -> str:
    """From the first line that starts code to the longest end that still parses (drops trailing prose)."""
    lines = text.splitlines()
    start = next((k for k, line in enumerate(lines) if CODE_START.match(line)), None)
    if start is None:
        return text
    for end in range(len(lines), start, -1):
        candidate = "\n".join(lines[start:end]).rstrip() + "\n"
        if _parses(candidate):
            return candidate
    return "\n".join(lines[start:]).rstrip() + "\n"


def _unindent(line: str, indent: int) -> str:
    # A fence indented inside a list item indents its code by as much; strip only that much, as Markdown does.
    strip = min(indent, len(line) - len(line.lstrip(" ")))
    return line[strip:]


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True
