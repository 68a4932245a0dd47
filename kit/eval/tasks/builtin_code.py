"""Built-in code eval: function-writing tasks from the eval half of kit.data.builtin.code, scored by running
the extracted function against the hidden asserts in kit.eval.sandbox (1 when they all pass)."""

from __future__ import annotations

from kit.data.builtin import code as generator
from kit.eval import code_extract, sandbox
from kit.eval.sandbox import run_program, timeout_scale

VERSION = f"1-gen{generator.VERSION}-extract{code_extract.VERSION}-sandbox{sandbox.VERSION}"
MAX_NEW_TOKENS = 256
# A generator has no natural "all"; n=None means this fixed eval-set size.
DEFAULT_N = 500
# The reference solutions finish in milliseconds; this only bounds runaway answers.
TIMEOUT_S = 5.0


def load_items(n: int | None, seed: int) -> list[dict]:
    """The first n eval tasks for ``seed`` (a smaller n is a prefix of a larger one)."""
    return generator.generate_eval(DEFAULT_N if n is None else n, seed)


def score(item: dict, completion: str) -> dict:
    """``{"score": 1.0 or 0.0, "status", "detail"}``: the answer's code followed by the hidden asserts."""
    reference = item["reference"]
    code = code_extract.extract_code(completion, reference["entry_point"])
    if not code.strip():
        return {"score": 0.0, "status": "failed", "detail": "no code in the answer"}
    result = run_program(f"{code}\n\n{reference['tests']}", timeout_s=TIMEOUT_S * timeout_scale())
    return {"score": float(result.passed), "status": result.status, "detail": result.detail}
