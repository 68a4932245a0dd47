"""P3's (DoIT's) answer parsers, ported from the authors' ``evaluate/parse_utils.py`` and ``math_equivalence.py``
(github.com/ChiyuSONG/dynamics-of-instruction-tuning @ 2ef836b, MIT; themselves from Microsoft's AGIEval, MIT, and
Hendrycks et al.'s MATH) so that a reply scores as the paper's scorer scores it. Behaviour is kept, quirks
included (the ethics set reads any capital A-F on the last line); only bare ``except:`` became
``except Exception`` and the prints went. The letter fallback to logits lives in kit.eval.tasks.doit.
"""

from __future__ import annotations

import re

TRUE_WORDS = ("正确", "对", "T", "√", "V")
FALSE_WORDS = ("错误", "错", "F", "×", "X")


def last_line(text: str) -> str:
    """The last line with anything on it (``extract_last_line``)."""
    for line in text.split("\n")[::-1]:
        if line.strip():
            return line
    return text


def letter_set(text: str) -> set[str]:
    """Ethics: the capital letters A-F on the last non-empty line (``parse_multi_choices_tasks``)."""
    return set(re.findall(r"\(*([A-F])\)*", last_line(text)))


def lone_letter(text: str) -> str | None:
    """A reply that is one character: that letter, or 'E' (wrong) when it is not A-D; None when the reply is
    longer, so the caller falls back to the A-D logits (``parse_four_choices_candidates_tasks``, mode 'both')."""
    answer = text.strip()
    if len(answer) != 1:
        return None
    return answer if answer in "ABCD" else "E"


def true_false(text: str) -> str:
    """History's true/false items by keyword (``parse_tf_choice``, mode 'text'): 'T', 'F', 'E' for both or neither."""
    answer = text.strip()
    has_true = re.findall("(?:{})".format("|".join(TRUE_WORDS)), answer)
    has_false = re.findall("(?:{})".format("|".join(FALSE_WORDS)), answer)
    if has_true and not has_false:
        return "T"
    if has_false and not has_true:
        return "F"
    return "E"


def cloze_zh(text: str) -> str:
    """Chinese cloze: the first CJK span (``parse_single_cloze_zh``)."""
    answer = text.strip()
    found = re.findall(r"[\u4e00-\u9fff]+.*?[^\w\s]*", answer)
    return found[0].strip() if found else answer


# --- math: the last \boxed{} (else $...$, else special cases, else the last number) ---------------------------


def _remove_boxed(s: str) -> str | None:
    left = "\\boxed{"
    if not (s.startswith(left) and s.endswith("}")):
        return None
    answer = s[len(left) : -1]
    if "=" in answer:
        answer = answer.split("=")[-1].lstrip(" ")
    return answer


def _last_boxed(string: str) -> str | None:
    idx = string.rfind("\\boxed")
    if idx < 0:
        idx = string.rfind("\\fbox")
        if idx < 0:
            return None
    depth, i = 0, idx
    while i < len(string):
        if string[i] == "{":
            depth += 1
        if string[i] == "}":
            depth -= 1
            if depth == 0:
                return string[idx : i + 1]
        i += 1
    return None


def _dollar(s: str) -> str | None:
    matches = re.findall(r"\$(.*)\$", s)
    if not matches:
        return None
    last = matches[-1]
    return last.split("=")[-1].lstrip(" ") if "=" in last else last


def _special(s: str) -> str | None:
    s = s.strip()
    if len(s.split("/")) == 2:
        a, b = s.split("/")
        return None if re.search(r"[^a-zA-Z0-9]", a) or re.search(r"[^a-zA-Z0-9]", b) else s
    s = s.replace("，", ",")
    if re.match(r"^[,-?\d]+$", s) is not None:
        return s
    s = s.replace(" ", "")
    sqrt = re.findall(r"(sqrt\([^)]*\))", s)
    if sqrt:
        return sqrt[-1]
    brackets = re.findall(r"(\[.*?\]|\(.*?\))", s)
    return brackets[-1] if brackets else None


def _no_dollar(s: str) -> str | None:
    if "=" in s:
        last = s.split("=")[-1].lstrip(" ").rstrip(".")
        return last.split("\\n")[0] if "\\n" in last else last
    matches = re.findall(r"(?:\$)?(?:-)?\d+(?:\.\d+)?(?![\w\d])", s)
    return matches[-1].strip("$") if matches else None


def math_answer(raw: str) -> str | None:
    """The answer a math reply gives (``parse_math_tasks``)."""
    if "答案" in raw:
        raw = raw.split("答案")[-1].strip()
    boxed = _last_boxed(raw)
    if boxed is not None:
        answer = _remove_boxed(boxed)
    else:
        answer = _dollar(raw) or _special(raw) or _no_dollar(raw)
    if answer is not None:
        answer = answer.replace("或", ", ").replace("$", "")
    return answer


def _fix_fracs(string: str) -> str:
    parts = string.split("\\frac")
    out = parts[0]
    for sub in parts[1:]:
        out += "\\frac"
        if sub[:1] == "{":
            out += sub
            continue
        if len(sub) < 2:
            return string
        a, b, rest = sub[0], sub[1], sub[2:]
        out += "{" + a + "}{" + b + "}" + rest if b != "{" else "{" + a + "}" + b + rest
    return out


def _fix_a_slash_b(string: str) -> str:
    if len(string.split("/")) != 2:
        return string
    a, b = string.split("/")
    negative = a[:1] == "-"
    try:
        x, y = int(a[1:] if negative else a), int(b)
    except ValueError:
        return string
    if negative:
        return "-\\frac{" + str(x) + "}{" + str(y) + "}"
    return "\\frac{" + str(x) + "}{" + str(y) + "}" if string == f"{x}/{y}" else string


def _remove_right_units(string: str) -> str:
    if "\\text{ " in string:
        parts = string.split("\\text{ ")
        if len(parts) != 2:
            raise ValueError("units twice")
        return parts[0]
    return string


def _fix_sqrt(string: str) -> str:
    if "\\sqrt" not in string:
        return string
    parts = string.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        out += "\\sqrt{" + part[0] + "}" + part[1:] if part[:1] != "{" else "\\sqrt" + part
    return out


def _strip(string: str):
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac").replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "")
    string = _remove_right_units(string)
    string = string.replace("\\%", "")  # the original's second replace ("\%") is the same string
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if not string:
        return string
    if string[0] == ".":
        string = "0" + string
    if len(string.split("=")) == 2 and len(string.split("=")[0]) <= 2:
        string = string.split("=")[1]
    string = _fix_sqrt(string).replace(" ", "")
    string = _fix_fracs(string)
    if string == "0.5":
        string = "\\frac{1}{2}"
    string = _fix_a_slash_b(string)
    if re.match(r"^[,-?\d]+$", string) is not None:
        return set(re.findall(r"-?\d+", string))
    if "\\frac{" in string:
        string = re.sub(r"\\frac{(-)(\d+)}{(\d+)}", r"-\\frac{\2}{\3}", string)
    if re.match(r"\\text\{\((A|B|C|D|E|F)\)", string):
        string = re.findall(r"\\text\{\((A|B|C|D|E|F)\)", string)[-1]
    return string


def math_equal(prediction: str | None, gold: str | None) -> bool:
    """``is_equiv``: equal after MATH's normalisation (fractions, sqrt, units, spaces...); a number list as a set."""
    if prediction is None and gold is None:
        return True
    if prediction is None or gold is None:
        return False
    try:
        return _strip(prediction) == _strip(gold)
    except Exception:
        return prediction == gold
