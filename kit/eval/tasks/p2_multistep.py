"""Multi-Step Arithmetic (ours: P2 does not name its other six tasks; arithmetic): zero-shot, exact match on the
``Answer:`` line (kit.eval.tasks.short_answer), items from the eval half of kit.data.builtin.reasoning.multistep."""

from __future__ import annotations

from kit.data.builtin.reasoning import multistep as generator
from kit.eval.tasks import short_answer

VERSION = f"1-gen{generator.VERSION}-sa{short_answer.VERSION}"
DENSE_VERSION = VERSION  # the twin: ``Answer: <gold>`` against the generator's distractors
MAX_NEW_TOKENS = 48
DEFAULT_N = 1000  # a generator has no natural "all"
DOMAIN = "arithmetic"
ORIGIN = "ours"
PAPER_NAME = "Multi-Step Arithmetic"
CHANCE = 1 / 3  # of the twin's dense_rank

score = short_answer.score
load_items, dense_items = short_answer.generated(generator, DEFAULT_N)
