"""FastChat's MT-Bench single-answer grading, run with a local judge GGUF through the kit's llama.cpp engine.

Templates, their choice, their filling and the rating regexes follow FastChat's ``llm_judge`` (``common.py``:
``run_judge_single``, ``NEED_REF_CATS``, ``one_score_pattern``; ``gen_judgment.py``: ``make_judge_single``).
Differences, all from running locally: the judge is a llama.cpp GGUF (greedy, as FastChat's temperature 0) with
its own chat template instead of GPT-4; a judgment is capped at ``MAX_JUDGMENT_TOKENS`` (FastChat: 2048); a
rating outside 1-10 counts as unparsed. Scores from this judge are not comparable to GPT-4-judged ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kit.data.schema import DataError

# Bump when template choice, filling, parsing or the judgment budget change.
JUDGE_VERSION = "1"
MAX_JUDGMENT_TOKENS = 512
# Room for two questions, two reference answers and two 512-token answers in the math multi-turn template.
JUDGE_N_CTX_TOKENS = 8192
NEED_REF_CATS = ["math", "reasoning", "coding", "arena-hard-200"]
ONE_SCORE_PATTERN = re.compile(r"\[\[(\d+\.?\d*)\]\]")
ONE_SCORE_PATTERN_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")
TEMPLATE_NAMES = ("single-v1", "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn")


def load_templates(path: str | Path) -> dict[str, dict]:
    """The single-grading templates of a FastChat ``judge_prompts.jsonl``, by name; a missing one raises."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; it ships in FastChat's fastchat/llm_judge/data/judge_prompts.jsonl")
    templates = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            templates[record["name"]] = record
    missing = [name for name in TEMPLATE_NAMES if name not in templates]
    if missing:
        raise DataError(f"{path}: judge templates {missing} are missing; use FastChat's judge_prompts.jsonl")
    return {name: templates[name] for name in TEMPLATE_NAMES}


def template_name(category: str | None, multi_turn: bool) -> str:
    """The template FastChat's gen_judgment gives a question: ``-math`` (with references) for NEED_REF_CATS."""
    base = "single-math-v1" if category in NEED_REF_CATS else "single-v1"
    return f"{base}-multi-turn" if multi_turn else base


def fill(
    templates: dict[str, dict],
    category: str | None,
    questions: list[str],
    answers: list[str],
    reference: list[str] | None,
    multi_turn: bool,
) -> tuple[str, list[dict]]:
    """``(template name, [system, user] messages)`` exactly as FastChat's ``run_judge_single`` builds them."""
    name = template_name(category, multi_turn)
    template = templates[name]
    kwargs = {}
    if category in NEED_REF_CATS:
        if not reference:
            raise DataError(f"a {category!r} question needs a reference answer (reference_answer/gpt-4.jsonl)")
        kwargs["ref_answer_1"] = reference[0]
        if multi_turn:
            kwargs["ref_answer_2"] = reference[1]
    if multi_turn:
        user = template["prompt_template"].format(
            question_1=questions[0], question_2=questions[1], answer_1=answers[0], answer_2=answers[1], **kwargs
        )
    else:
        user = template["prompt_template"].format(question=questions[0], answer=answers[0], **kwargs)
    return name, [{"role": "system", "content": template["system_prompt"]}, {"role": "user", "content": user}]


def parse_rating(judgment: str) -> float | None:
    """FastChat's parse: ``[[r]]``, else ``[r]``; None where FastChat records -1."""
    match = ONE_SCORE_PATTERN.search(judgment) or ONE_SCORE_PATTERN_BACKUP.search(judgment)
    return float(match.group(1)) if match else None


class Judge:
    """A judge GGUF opened in the kit's engine; ``grade`` returns ``(rating or None, judgment)``."""

    def __init__(self, gguf_path: str | Path, *, n_ctx: int = JUDGE_N_CTX_TOKENS, n_threads: int):
        from kit.eval import engine

        self.path = Path(gguf_path)
        self.name = self.path.name
        self.engine = engine.Engine(self.path, n_ctx=n_ctx, n_threads=n_threads)

    def grade(self, messages: list[dict]) -> tuple[float | None, str]:
        try:
            judgment = self.engine.chat(messages, MAX_JUDGMENT_TOKENS)
        except ValueError as err:  # the prompt does not fit n_ctx: a failed grade, recorded, not a crash
            return None, f"[kit: judge failed: {err}]"
        rating = parse_rating(judgment)
        # The backup pattern also catches citation-like "[12]"; the score must stay within the 1-10 scale.
        if rating is not None and not 1 <= rating <= 10:
            rating = None
        return rating, judgment

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
