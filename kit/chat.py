"""``kit chat RUN``: talk to a scored GGUF through the engine that scored it (kit.eval.engine): its own chat
template, greedy decoding, the evaluation's context size. A reply to a prompt the evaluation asked is the
evaluation's completion, token for token (at batch size 1, the exact one-at-a-time mode).

Commands: ``/reset`` forgets the conversation, ``/system TEXT`` sets a system message (and resets), ``/exit``
(or end of input) leaves. A line ending in a backslash continues on the next (a multi-line message). Replies
print as they are decoded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

HELP = "commands: /reset (forget the conversation), /system TEXT (a system message), /exit; end a line with \\ to go on"


def repl(
    gguf: Path,
    *,
    n_ctx: int,
    n_threads: int,
    max_tokens: int,
    system: str | None = None,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> list[dict]:
    """Read user turns from ``stdin`` until /exit or its end, answer each; returns the conversation."""
    from kit.eval.engine import open_engine

    interactive = stdin.isatty()
    start = [{"role": "system", "content": system}] if system else []
    history = list(start)
    with open_engine(gguf, n_ctx=n_ctx, n_threads=n_threads, batch_size=1) as engine:
        out.write(f"{gguf.name}: greedy, context {n_ctx} tokens, replies up to {max_tokens} tokens. {HELP}\n")
        while True:
            if interactive:
                out.write("> ")
                out.flush()
            line = stdin.readline()
            if not line or line.strip() in ("/exit", "/quit"):
                break
            text = line.rstrip("\n")
            while text.endswith("\\"):  # a line ending in a backslash continues on the next
                more = stdin.readline()
                text = text[:-1] + "\n" + more.rstrip("\n")
                if not more:
                    break
            if text.strip() == "/reset":
                history = list(start)
                out.write("(conversation reset)\n")
                continue
            if text.startswith("/system"):
                start = [{"role": "system", "content": text.removeprefix("/system").strip()}]
                history = list(start)
                out.write("(system message set; conversation reset)\n")
                continue
            if not text.strip():
                continue
            history.append({"role": "user", "content": text})
            reply = _answer(engine, history, max_tokens, out)
            if reply is None:
                history = list(start)
                continue
            history.append({"role": "assistant", "content": reply})
    return history


def _answer(engine, history: list[dict], max_tokens: int, out: TextIO) -> str | None:
    """Stream one greedy reply; None (and a note) when the conversation no longer fits the context."""
    prompt = engine.prompt_ids(history)
    if len(prompt) >= engine.n_ctx:
        out.write(f"(the conversation is {len(prompt)} tokens, over the context of {engine.n_ctx}: reset)\n")
        return None
    ids: list[int] = []
    shown = ""
    for tok in engine.stream_ids(prompt, max_tokens):
        ids.append(tok)
        text = engine.text(ids)
        if not text.endswith("\ufffd"):  # a character still split across tokens waits for its next byte
            out.write(text[len(shown) :])
            out.flush()
            shown = text
    text = engine.text(ids)
    out.write(text[len(shown) :] + "\n")
    return text
