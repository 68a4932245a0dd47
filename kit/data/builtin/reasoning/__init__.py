"""Built-in generators of P2's zero-shot reasoning tasks (symbolic, logical, arithmetic), one module per task.

Each follows kit.data.builtin's conventions (VERSION, generate_train, generate_eval, deterministic by seed, train and
eval disjoint by split_of) and its items follow kit.eval.tasks.short_answer (``Answer: <answer>``, a ``kind`` of
normalisation, distractors for the multiple-choice twin).
"""
