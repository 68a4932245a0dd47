"""Offline labels for chat conversations, ``code``, ``math`` or ``other``: P2's "Coding / Math / Others" sans GPT-3.5.

P2 (Zhang et al., arXiv 2405.20535) split ShareGPT by asking GPT-3.5 what each conversation is about; the kit does it
with deterministic regular expressions, by name (``CLASSIFIERS``), each classifier versioned (its VERSION keys every
run whose data it selects, kit.runs.stage_keys). ``python -m kit.data.classify`` measures one against labelled sets.

code_v1's rules, in order (the first that holds decides; code is checked before math, as a labeller calls a
conversation about code "Coding" even when it is full of numbers):

code, from anywhere in the conversation:
  - a fenced block (```) tagged with a language, or untagged/tagged text whose body has a line that looks like code;
    ShareGPT's scraped "pythonCopy code" markers count as fences;
  - one line that only code looks like: a Python ``def``/``class``/``import`` line, a JavaScript ``function``/
    ``const``/``=>``, ``#include``, ``public static void``, ``console.log(``, an upper-case SQL ``SELECT ... FROM`` or
    ``CREATE TABLE``, a shell line (``$ cmd``, ``sudo``, ``git commit``, ``pip install``, ``grep -c ...``), an HTML
    document (``<!DOCTYPE``, a closing ``</div>``-like tag);
  - two lines that look like code in common languages (an indented ``return``, ``for x in y:``, ``if a == b:``,
    an assignment of a call, a C-style statement ending in ``);``, a brace alone on its line, ``let x =``);
code, from the user's turns (what was asked):
  - a name that only means a programming language, library or tool (Python, JavaScript, SQL, regex, HTML, bash,
    pandas, "command line"...), unless the request is about the animal or the island (ball python, Java in
    Indonesia); a name that is also an everyday word (Java, Ruby, shell, React, git, API...) only together with a
    programming word (function, script, query, code, bug, component...), a line that looks like code or a code span
    in backticks (`xs[::-1]`);
  - a request to write, fix or explain a function, method, program or script "that takes / returns / prints ...",
    or a backticked call like ``f(x)`` with the word function (a TV program, a film script or a committee's
    function alone do not count);
math, from anywhere:
  - a ``#### N`` answer line, LaTeX (``\\frac``, ``\\sqrt``, ``$x^2$``...), an equation with a variable
    (``3x + 7 = 22``), or two arithmetic equations (``5 + 6 = 11``, ``$12 x 3 = $36``);
math, from the user's turns:
  - a mathematical topic named (theorem, equation, integral, prime number, algebra...), or "math" together with
    question/problem/puzzle words;
  - a calculation asked for (solve, calculate, evaluate, how many/much/long, the sum/average/area/speed of,
    convert, percent...) with two numbers, or with one number and an arithmetic expression or a unit conversion
    ("5 miles to km"), or with one arithmetic equation anywhere in the conversation;
other: everything else (numbers in a story, a recipe's quantities, dates, addresses, prices, budgets).

Speed: only the first MAX_CHARS characters of each message and MAX_TOTAL of a conversation are read (a ShareGPT
conversation is labelled by its opening). Measured on one shared core: about 3,000 conversations of 4,000 characters a
second, 25,000 of chat_mix's short ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from kit.registry import load

LABELS = ("code", "math", "other")
CLASSIFIERS = {"code_v1": "kit.data.classify:CodeV1"}
MAX_CHARS = 8_000  # per message
MAX_TOTAL = 24_000  # per conversation

_M = re.M

# --- code evidence ------------------------------------------------------------------------------------------

# A fence and its language tag; "Copy code" is what scraped ChatGPT pages (ShareGPT) left where a fence was.
FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
COPY_CODE = re.compile(r"^[ \t]*[\w+#-]{0,20}Copy code[ \t]*$", _M)
TEXT_TAGS = {"", "text", "txt", "plaintext", "plain", "markdown", "md", "output", "console", "none"}

# Lines only code looks like, judged from the start of a line.
STRONG_LINE = re.compile(
    r"^[ \t]*(?:"
    + "|".join(
        (
            r"(?:async[ \t]+)?def[ \t]+[A-Za-z_]\w*[ \t]*\([^)\n]*\)[ \t]*(?:->[^:\n]+)?:",  # Python def
            r"class[ \t]+[A-Z]\w*[ \t]*(?:\([^)\n]*\))?[ \t]*:[ \t]*$",  # Python class
            r"import[ \t]+[a-z_][\w.]*(?:\.\*)?(?:[ \t]+as[ \t]+\w+)?[ \t]*;?[ \t]*$",  # Python/Java import
            r"from[ \t]+[a-z_][\w.]*[ \t]+import[ \t]+[\w*(]",
            r"import[ \t][^\n]*[ \t]from[ \t]+['\"]",  # JS import
            r"(?:export[ \t]+)?(?:async[ \t]+)?function[ \t]*\*?[ \t]*[A-Za-z_$][\w$]*[ \t]*\([^)\n]*\)[ \t]*\{",
            r"(?:const|var)[ \t]+[A-Za-z_$][\w$]*[ \t]*=",  # JS declarations
            r"#[ \t]*include[ \t]*[<\"]",
            r"select[ \t][^\n]+[ \t]from[ \t]+\w+[^\n]*;[ \t]*$",  # SQL (lower case, ends with ;)
            r"\$[ \t]+(?:sudo|pip3?|npm|yarn|git|cd|ls|mkdir|python3?|docker|curl|wget|apt(?:-get)?|brew"
            r"|conda|make|cat|grep|find|chmod|export|node|java|gcc|cargo|go)\b",  # shell prompt
            r"sudo[ \t]+\w",
            r"git[ \t]+(?:clone|commit|push|pull|checkout|add|status|log|merge|rebase|init|branch|diff|remote)\b",
            r"(?:pip3?|npm|yarn|conda|apt(?:-get)?|brew|cargo)[ \t]+(?:install|uninstall|run|update|upgrade"
            r"|init|create|activate|add)\b",
            r"(?:grep|sed|awk|find|ls|wc|du|sort|head|tail|cat|tar|chmod|mkdir|rm|cp|mv|curl)\b[^\n]*"
            r"(?:[ \t]-{1,2}[A-Za-z]|[ \t]\|[ \t]|'s/)",  # a shell command with flags or a pipe
        )
    )
    + ")",
    _M,
)
# Marks found anywhere, each its own pattern: one starting with a literal is searched for far faster than an
# alternation (or a leading \b) is.
STRONG_MARKS = tuple(
    re.compile(p)
    for p in (
        r"=>[ \t]*\{",
        r"(?:public|private|protected)[ \t]+(?:static[ \t]+)?(?:void|int|class|String|bool|boolean)\b",
        r"(?:console\.log|System\.out\.print(?:ln)?|document\.getElementById|printf|std::\w+)[ \t]*[(<:]",
        r"SELECT\s[^;]{0,300}?\bFROM\s+[\w.`\"\[]",  # SQL (upper case, over lines)
        r"(?:INSERT[ \t]+INTO|CREATE[ \t]+TABLE|DELETE[ \t]+FROM|ALTER[ \t]+TABLE|UPDATE[ \t]+\w+[ \t]+SET)\b",
        r"<(?:!DOCTYPE|/(?:html|head|body|div|script|style|table|form|span|ul|ol|li|button|p|h[1-6])>)",
    )
)
WEAK_LINE = re.compile(
    "|".join(
        (
            r"^[ \t]+return\b[^\n]*$|^return[ \t]+[\w(\[{'\"-][^\n]*[^.!?\n][ \t]*$",
            r"^[ \t]*for[ \t]+\w+(?:,[ \t]*\w+)*[ \t]+in[ \t][^\n]*:[ \t]*$",
            r"^[ \t]*(?:if|elif|while)[ \t][^\n]*(?:==|!=|<=|>=|[<>]|[ \t]in[ \t]|[ \t]not[ \t]|\()[^\n]*:[ \t]*$",
            r"^[ \t]*(?:else|try|finally|except\b[^\n]*)[ \t]*:[ \t]*$",
            r"^[ \t]*print[ \t]*\([^\n]*\)[ \t]*$",
            r"^[ \t]*[a-z_][\w.]*(?:\[[^\]\n]*\])?[ \t]*(?:=|\+=|-=|\*=)[ \t]*[^=\n]*\b[A-Za-z_][\w.]*\([^\n]*\)"
            r"[ \t]*;?[ \t]*$",  # an assignment of a call
            r"^[ \t]*[\w.$]+\([^\n]*\)[ \t]*;[ \t]*$",
            r"^[ \t]*\}[ \t]*[;,)]*[ \t]*$",
            r"^[^\n]*\)[ \t]*\{[ \t]*$",
            r"^[ \t]*let[ \t]+[A-Za-z_$][\w$]*[ \t]*=[^\n]*;[ \t]*$",
        )
    ),
    _M,
)

# The request's patterns are matched against the lower-cased request (far faster than re.I).
# Named in a request: languages, libraries and tools. A name that is only a programming language
# (LANG) makes a request about code; one that is also an everyday word (LANG_AMBIGUOUS: Java, Ruby, shell, React...)
# needs a programming word or some code beside it.
LANG = re.compile(
    r"(?<![\w+#])(?:c\+\+|c#)(?![\w+#])"  # \b cannot end a name that ends in + or #
    r"|\b(?:python|javascript|typescript|golang|kotlin|php|haskell|matlab|fortran|cobol|sql|mysql"
    r"|postgres(?:ql)?|sqlite|mongodb|regex|regular expressions?|html|css|bash|powershell|command line|numpy|pandas"
    r"|pytorch|tensorflow|scikit-learn|react\.js|node\.js|django|flask|jquery|leetcode|vba|programming language)\b",
)
LANG_AMBIGUOUS = re.compile(
    r"\b(?:java|swift|ruby|perl|scala|rust|julia|shell|linux|unix|terminal|react|node|vue|angular|api|sdk|git"
    r"|github|docker|kubernetes|excel formula|latex)\b|(?<!\w)c(?= (?:program|code|function))",
)
R_LANG = re.compile(r"\bR(?= (?:code|script|function|package))")  # on the request as written: R, not "r"
# The animal and the island: "Python"/"Java" not about programming.
NOT_LANG = re.compile(
    r"\b(?:ball|burmese|reticulated|royal|pet|carpet)[ \t]+pythons?\b|\bpythons?[ \t]+(?:snake|eggs?|as pets?)\b"
    r"|\bsnakes?\b|\breptiles?\b|\bjava[ \t]+(?:island|sea|coffee)\b|\b(?:island of|visit(?:ing)?|in)[ \t]+java\b"
    r"|\bindonesia\b",
)
CODE_WORD = re.compile(
    r"\b(?:function|method|class|script|program|code|coding|query|queries|command|snippet|library|module|package"
    r"|variable|loop|array|string|bug|error|exception|compile[sd]?|compiler|syntax|endpoint|install|implement\w*"
    r"|debug\w*|refactor\w*|decorator|framework|regex|pattern|selector|dataframe|table|component|render\w*|hooks?"
    r"|props|repository|repo|container|deploy\w*)\b",
)
CODE_TASK = re.compile(
    r"\b(?:function|method|program|script|routine|procedure|class)\b[^.?!\n]{0,40}?\b(?:that|which|to)\b"
    r"[^.?!\n]{0,60}?\b(?:takes|take|returns?|accepts?|prints?|reads?|outputs?|computes?|counts?|checks?|sorts?"
    r"|reverses?|converts?|parses?|finds?|removes?|calculates?|generates?|validates?|implements?)\b",
)
BACKTICK_CALL = re.compile(r"`[A-Za-z_][\w.]*\([^`\n]*\)`")
INLINE_CODE = re.compile(r"`[^`\n]*[()\[\]=_.:][^`\n]*`")  # `xs[::-1]`, `os.path`: code spans
FUNCTION_WORD = re.compile(r"\bfunction\b")

# --- math evidence ------------------------------------------------------------------------------------------

ANSWER_LINE = re.compile(r"^[ \t]*####[ \t]*-?\$?[\d,.]+[ \t]*$", _M)
LATEX = re.compile(
    r"\\(?:frac|dfrac|sqrt|sum|int|prod|lim|cdot|times|div|pm|leq?|geq?|neq|approx|infty|pi|theta|alpha|beta"
    r"|Delta|log|ln|sin|cos|tan|left|right|mathbb|mathrm|binom|overline)\b|\\begin\{(?:equation|align)"
    r"|\$[^$\n]{0,60}[a-z][ \t]*(?:\^|_)[^$\n]{0,60}\$|\$\$[^$]+\$\$"
)
NUM = r"\$?\d[\d,]*(?:\.\d+)?%?"
OP = r"(?:[-+*/×÷x]|\bx\b)"
ARITH_EQ = re.compile(rf"{NUM}[ \t]*{OP}[ \t]*\(?{NUM}\)?(?:[ \t]*{OP}[ \t]*\(?{NUM}\)?)*[ \t]*=[ \t]*-?{NUM}")
# An equation with an unknown: "3x + 7 = 22", "10X + 5 = 10", "5x + 3(7 - x) = 27", "x + y = 7".
VAR_EQ = re.compile(
    r"(?<![\w$])\d*[a-zA-Z](?:\^\d)?[ \t]*[-+][ \t]*\d*[a-zA-Z\d(](?:[^=\n]{0,30})=[ \t]*-?\d"
    r"|(?<![\w$])\d+[a-zA-Z](?![\w])[ \t]*=[ \t]*-?\d"
)
CALC_CUE = re.compile(
    r"\b(?:solve|solving|calculate|calculating|compute|evaluate|simplify|how many|how much|how long|how far"
    r"|how old|what (?:is|was|will be) (?:the|its|his|her|their) (?:average |total |final )?(?:sum|product"
    r"|difference|quotient|average|mean|median|area|perimeter|volume|value|probability|remainder|percentage|ratio"
    r"|square root|total|result|speed|rate|distance|cost|price|profit|length|width|height|weight)"
    r"|find the (?:sum|product|value|area|perimeter|volume|number|average|mean|probability|remainder|smallest"
    r"|largest|greatest|least|total)"
    r"|convert(?:ing)?|percent|per cent|divided by|multiplied by|times as (?:many|much)|average of|sum of"
    r"|what is[ \t]+\d)\b|%",
)
EXPRESSION = re.compile(rf"{NUM}[ \t]*(?:[-+*/×÷^]|\bx\b)[ \t]*{NUM}")
UNIT_CONVERSION = re.compile(
    r"\b\d[\d,.]*[ \t]*(?:°[ \t]*)?(?:[a-z]{1,3}|feet|foot|inch(?:es)?|miles?|yards?|meters?|metres?|kilometers?"
    r"|grams?|kilograms?|pounds?|ounces?|liters?|litres?|gallons?|hours?|minutes?|seconds?|days?|weeks?|degrees?"
    r"|fahrenheit|celsius)\b[^.?!\n]{0,30}?\b(?:to|in|into)\b",
)
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
MATH_TOPIC = re.compile(
    r"\b(?:theorems?|integrals?|integrate|derivatives?|differentiate|polynomials?|quadratic|logarithms?|factorials?"
    r"|prime (?:numbers?|factors?)|perfect numbers?|algebra(?:ic)?|geometry|trigonometry|calculus|equations?"
    r"|inequalit(?:y|ies)|square roots?|divisible|greatest common|least common|arithmetic (?:sequence|series|mean)"
    r"|geometric (?:sequence|series)|pythagorean)\b",
)
MATH_WORD = re.compile(r"\bmath(?:s|ematics|ematical)?\b")
MATH_TASK = re.compile(r"\b(?:question|problem|puzzle|exercise|homework|riddle|quiz|test|worksheet)s?\b")


def _count(pattern: re.Pattern, text: str, stop: int) -> int:
    """Matches of ``pattern`` in ``text``, counting no further than ``stop``."""
    n = 0
    for _ in pattern.finditer(text):
        n += 1
        if n >= stop:
            break
    return n


def _looks_like_code(text: str) -> bool:
    if STRONG_LINE.search(text) or any(mark.search(text) for mark in STRONG_MARKS):
        return True
    return _count(WEAK_LINE, text, 2) >= 2


def _fenced_code(text: str) -> bool:
    if COPY_CODE.search(text):
        return True
    for m in FENCE.finditer(text):
        tag, body = m.group(1).lower(), m.group(2)
        if tag not in TEXT_TAGS or _looks_like_code(body) or WEAK_LINE.search(body):
            return True
    return False


def _asks_for_code(request: str, low: str, text: str) -> bool:
    """``low``: the request lower-cased."""
    if CODE_TASK.search(low) or (BACKTICK_CALL.search(request) and FUNCTION_WORD.search(low)):
        return True
    if NOT_LANG.search(low):
        return False
    if LANG.search(low):
        return True
    return (LANG_AMBIGUOUS.search(low) is not None or R_LANG.search(request) is not None) and (
        CODE_WORD.search(low) is not None or WEAK_LINE.search(text) is not None or INLINE_CODE.search(text) is not None
    )


def _is_math(request: str, low: str, text: str) -> bool:
    has_equals = "=" in text  # most prose has none: the equation patterns are then skipped
    if ANSWER_LINE.search(text) or LATEX.search(text):
        return True
    if has_equals and (VAR_EQ.search(text) or _count(ARITH_EQ, text, 2) >= 2):
        return True
    if MATH_TOPIC.search(low) or (MATH_WORD.search(low) and MATH_TASK.search(low)):
        return True
    if not CALC_CUE.search(low):
        return False
    numbers = _count(NUMBER, request, 2)
    return (
        numbers >= 2
        or (numbers == 1 and (EXPRESSION.search(request) or UNIT_CONVERSION.search(low)))
        or (has_equals and ARITH_EQ.search(text) is not None)
    )


class CodeV1:
    """P2's three labels from regular expressions (the rules are the module docstring's)."""

    VERSION = "1"

    @staticmethod
    def label(request: str, text: str) -> str:
        """``request``: the user's turns; ``text``: every turn (user's included)."""
        low = request.lower()
        if _fenced_code(text) or _looks_like_code(text) or _asks_for_code(request, low, text):
            return "code"
        return "math" if _is_math(request, low, text) else "other"


def get_classifier(name: str):
    return load(name, CLASSIFIERS, "classifier")


def _texts(messages: list[dict]) -> tuple[str, str]:
    """(the user's turns, every turn), each message cut to MAX_CHARS and the whole to MAX_TOTAL."""
    parts = [(m.get("role"), str(m.get("content") or "")[:MAX_CHARS]) for m in messages]
    request = "\n\n".join(c for r, c in parts if r == "user")[:MAX_TOTAL]
    text = "\n\n".join(c for _, c in parts)[:MAX_TOTAL]
    return request, text


def classify(messages: list[dict], name: str = "code_v1") -> str:
    """``code``, ``math`` or ``other`` for a conversation in the kit's chat-row form (kit.data.schema)."""
    return get_classifier(name).label(*_texts(messages))


def classify_text(text: str, name: str = "code_v1") -> str:
    """The label of one text (a model's completion, say), read as both the request and the whole conversation."""
    text = text[:MAX_TOTAL]
    return get_classifier(name).label(text, text)


# --- measurement ---------------------------------------------------------------------------------------------


def measure(name: str, labelled: Iterable[tuple[list[dict] | dict, str]]) -> dict:
    """Per-label precision, recall, F1 and support, accuracy and the confusion matrix ``{true: {predicted: n}}``
    of classifier ``name`` on ``(messages or chat row, true label)`` pairs."""
    confusion = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
    for item, truth in labelled:
        messages = item["messages"] if isinstance(item, dict) else item
        confusion[truth][classify(messages, name)] += 1
    per_label = {}
    for label in LABELS:
        tp = confusion[label][label]
        predicted = sum(confusion[t][label] for t in LABELS)
        support = sum(confusion[label].values())
        precision = tp / predicted if predicted else None
        recall = tp / support if support else None
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if support else None)
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    n = sum(per_label[t]["support"] for t in LABELS)
    correct = sum(confusion[t][t] for t in LABELS)
    return {
        "classifier": name,
        "version": get_classifier(name).VERSION,
        "n": n,
        "accuracy": correct / n if n else None,
        "labels": per_label,
        "confusion": confusion,
    }


def chat_mix_set(n: int = 2000, seed: int = 0) -> list[tuple[dict, str]]:
    """The built-in mixed conversations' eval half, with their hidden labels."""
    from kit.data.builtin import chat_mix

    return chat_mix.generate_labelled(n, seed, split="eval")


def sharegpt_set(data: Path, labels: dict[str, str]) -> list[tuple[dict, str]]:
    """FastChat's ShareGPT-layout file, each record with its hand label."""
    from kit.data.formats import read_local

    path = data / "sharegpt_format" / "dummy_conversation.json"
    rows, _ = read_local(path, "sharegpt", source_name=f"local:{path}")
    return [(row, labels[row["id"]]) for row in rows]


def self_instruct_set(data: Path, labels: dict[str, str]) -> list[tuple[list[dict], str]]:
    """The self-instruct seed tasks: instruction (+ input) as the user turn, the output as the assistant's."""
    out = []
    for line in (data / "self_instruct_seed" / "seed_tasks.jsonl").read_text().splitlines():
        task = json.loads(line)
        instance = task["instances"][0]
        user = f"{task['instruction']}\n\n{instance['input']}" if instance["input"].strip() else task["instruction"]
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": instance["output"]}]
        out.append((messages, labels[task["id"]]))
    return out


MTBENCH_LABELS = {"coding": "code", "math": "math"}  # every other publisher category is "other"


def mtbench_set(data: Path) -> list[tuple[list[dict], str]]:
    """MT-Bench's 80 questions (user turns only) labelled by the publisher's category."""
    out = []
    for line in (data / "mt_bench" / "question.jsonl").read_text().splitlines():
        q = json.loads(line)
        messages = [{"role": "user", "content": turn} for turn in q["turns"]]
        out.append((messages, MTBENCH_LABELS.get(q["category"], "other")))
    return out


def real_sets(data: Path, hand_labels: Path) -> dict[str, list]:
    """Every real labelled set found under ``data`` (the repo's ``../shared/data``), by its path there."""
    labels = {name: spec["labels"] for name, spec in json.loads(hand_labels.read_text())["sets"].items()}
    readers = {
        "sharegpt_format/dummy_conversation.json": sharegpt_set,
        "self_instruct_seed/seed_tasks.jsonl": self_instruct_set,
    }
    out = {name: read(data, labels[name]) for name, read in readers.items() if (data / name).is_file()}
    if (data / "mt_bench" / "question.jsonl").is_file():
        out["mt_bench/question.jsonl"] = mtbench_set(data)
    return out


def format_report(title: str, report: dict) -> str:
    """A measurement as a small text table: per-label precision/recall/F1/support, then the confusion matrix."""
    pct = lambda x: "  -  " if x is None else f"{x:5.3f}"  # noqa: E731
    lines = [
        f"## {title}: {report['classifier']} v{report['version']}, n={report['n']}, accuracy {pct(report['accuracy'])}"
    ]
    lines.append("label  precision  recall  f1     support")
    for label, m in report["labels"].items():
        lines.append(f"{label:6} {pct(m['precision'])}      {pct(m['recall'])}   {pct(m['f1'])}  {m['support']}")
    lines.append("true \\ predicted  " + "  ".join(f"{p:>5}" for p in LABELS))
    for truth, row in report["confusion"].items():
        lines.append(f"{truth:17} " + "  ".join(f"{row[p]:5d}" for p in LABELS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    from kit.runs import REPO

    parser = argparse.ArgumentParser(prog="python -m kit.data.classify", description="Measure a classifier.")
    parser.add_argument("--classifier", default="code_v1", choices=sorted(CLASSIFIERS))
    parser.add_argument("--n", type=int, default=2000, help="chat_mix eval conversations")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--hand-labels", type=Path, default=REPO / "tests" / "assets" / "p2_hand_labels.json")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)
    sets = {f"chat_mix eval ({args.n})": chat_mix_set(args.n)}
    if args.data.is_dir():
        sets |= real_sets(args.data, args.hand_labels)
    else:
        print(f"({args.data} is absent: the real sets are skipped)")
    reports = {title: measure(args.classifier, labelled) for title, labelled in sets.items()}
    if args.json:
        print(json.dumps(reports, indent=1))
        return
    print("\n\n".join(format_report(title, report) for title, report in reports.items()))


if __name__ == "__main__":
    main()
