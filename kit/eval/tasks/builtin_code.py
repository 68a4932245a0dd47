"""Built-in code eval: function-writing tasks from the eval half of kit.data.builtin.code, scored by running
the extracted function against the hidden asserts in kit.eval.sandbox: 1 when they all pass (pass@1), and
the fraction that pass (``assert_frac``), each assert run on its own in the one sandboxed program."""

from __future__ import annotations

import re
import secrets

from kit.data.builtin import code as generator
from kit.eval import code_extract, sandbox
from kit.eval.sandbox import isolation, run_program, timeout_scale

# 2: each assert runs on its own so the score also says how many passed (pass@1 itself is unchanged).
VERSION = f"2-gen{generator.VERSION}-extract{code_extract.VERSION}-sandbox{sandbox.VERSION}"
MAX_NEW_TOKENS = 256
# A generator has no natural "all"; n=None means this fixed eval-set size.
DEFAULT_N = 500
# The reference solutions finish in milliseconds; this only bounds runaway answers.
TIMEOUT_S = 5.0
# Dense items: the reference answer against two single-token mutants that fail its asserts.
DENSE_VERSION = f"1-gen{generator.VERSION}-dense{generator.DENSE_VERSION}"


def cache_identity() -> dict:
    """The sandbox's timeout factor decides which slow programs pass, and its isolation level what a program can
    reach: inputs of the score."""
    return {"sandbox_timeout_scale": timeout_scale(), "sandbox_isolation": isolation()}


def load_items(n: int | None, seed: int) -> list[dict]:
    """The first n eval tasks for ``seed`` (a smaller n is a prefix of a larger one)."""
    return generator.generate_eval(DEFAULT_N if n is None else n, seed)


def dense_items(n: int, seed: int) -> list[dict]:
    """The first n eval tasks with two failing mutants, scored on the mutated tokens."""
    return generator.generate_dense(n, seed)


def score(item: dict, completion: str) -> dict:
    """``{"score": 1.0 or 0.0, "assert_frac", "status", "detail", "extracted", "sandbox_isolation"}``: the answer's
    code (``extracted``; None when there is none), then each hidden assert."""
    reference = item["reference"]
    asserts = [line for line in reference["tests"].splitlines() if line.strip()]
    code = code_extract.extract_code(completion, reference["entry_point"])
    if not code.strip():
        failed = {"score": 0.0, "assert_frac": 0.0, "status": "failed", "detail": "no code in the answer"}
        return {**failed, "extracted": None, "sandbox_isolation": isolation()}
    tag = f"kit-assert-{secrets.token_hex(8)}"
    result = run_program(f"{code}\n\n{harness(asserts, tag)}", timeout_s=TIMEOUT_S * timeout_scale())
    passed = len(re.findall(rf"^{tag} pass$", result.stdout, re.M))
    frac = 1.0 if result.passed else passed / len(asserts)
    scored = {"score": float(result.passed), "assert_frac": frac, "status": result.status, "detail": result.detail}
    return {**scored, "extracted": code, "sandbox_isolation": result.isolation}


def extracted(item: dict, record: dict) -> str | None:
    """The code the scorer ran, read again from a record's completion (records written before they carried it)."""
    code = code_extract.extract_code(record.get("completion") or "", item["reference"]["entry_point"])
    return code if code.strip() else None


def harness(asserts: list[str], tag: str) -> str:
    """Runs each assert on its own and prints ``<tag> pass`` per pass (flushed, so passes before a hang
    count); exits with an AssertionError unless all pass, so the sandbox's end-of-program check is pass@1."""
    return (
        f"__kit_asserts = {asserts!r}\n"
        "__kit_failed = []\n"
        "for __kit_line in __kit_asserts:\n"
        "    try:\n"
        "        exec(__kit_line, globals())\n"
        "    except Exception as __kit_error:\n"
        "        __kit_failed.append(f'{__kit_line}: {type(__kit_error).__name__} {__kit_error}')\n"
        "    else:\n"
        f"        print({tag!r} + ' pass', flush=True)\n"
        "if __kit_failed:\n"
        "    raise AssertionError(f'{len(__kit_failed)} of {len(__kit_asserts)} asserts failed; first: '"
        " + __kit_failed[0])\n"
    )
