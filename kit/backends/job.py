"""What a training worker is given: one stage's training, fully decided, written as ``RUN_DIR/job.json``.

The sweep builds it from the stage key (kit.runs.stage_keys), the chosen hardware (kit.env) and the weights the
stage starts from (kit.pipeline.stage_base); the worker, the backends, the trainer and ``make bench`` all take this
one type. ``resolved`` elsewhere in the kit means a recipe resolved to a dict (``Recipe.to_dict()``), nothing else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from kit.recipe import RecipeError, TrainSpec
from kit.recipe.strict import build


@dataclass(frozen=True)
class TrainJob:
    base_path: str  # the weights the stage starts from: a folder, or a hub id
    chat_template: str  # as the stage key names it: a kit template, "tokenizer", or a file's content hash
    max_seq_len_tokens: int
    train: TrainSpec  # the stage's training settings, its own epochs applied
    backend: str  # "hf" | "unsloth"
    dtype: str  # "float32" | "bfloat16" | "float16"
    device: str  # "cpu" | "cuda"
    init_adapter: str | None = None  # an earlier stage's adapter, continued ("continue" chaining)
    # Experiment trackers (the recipe's train.report_to, which the stage key leaves out) and the run's name in them:
    # its run id. Logs go to the run directory's logs/ (kit.backends.tracking).
    report_to: tuple[str, ...] = ()
    run_name: str | None = None
    # A .jinja template's content, read where the key was made (the worker checks it against the key's hash).
    chat_template_text: str | None = None

    @classmethod
    def for_stage(
        cls, key: dict, hw, base: dict, *, report_to: tuple[str, ...] = (), chat_template_text: str | None = None
    ) -> TrainJob:
        """The job of the stage whose key is ``key`` (kit.runs.stage_keys), on ``hw``, starting from ``base``,
        logging to the trackers ``report_to`` (TrainSpec.trackers) under the stage's run id;
        ``chat_template_text``: the content of the .jinja file the recipe names, if it names one."""
        from kit.data.templates import TOKENIZER, training_template
        from kit.runs import content_hash

        fields = {f.name for f in dataclasses.fields(TrainSpec)}
        train = {k: v for k, v in key["train"].items() if k in fields}
        template = key["model"]["chat_template"]
        if template != TOKENIZER:
            training_template(template, text=chat_template_text)  # a file changed since its key was made raises
        return cls(
            base_path=base["path"],
            chat_template=template,
            max_seq_len_tokens=key["model"]["max_seq_len_tokens"],
            train=_train_spec(train),
            backend=hw.backend,
            dtype=hw.dtype,
            device=hw.device,
            init_adapter=base.get("init_adapter"),
            report_to=tuple(report_to),
            run_name=content_hash(key) if report_to else None,  # the run id (kit.runs.run_dir)
            chat_template_text=chat_template_text,
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainJob:
        return cls(**{**data, "train": _train_spec(data["train"]), "report_to": tuple(data.get("report_to", ()))})

    @classmethod
    def read(cls, path: Path) -> TrainJob:
        from kit.runs import read_json

        return cls.from_dict(read_json(path))

    def write(self, path: Path) -> None:
        from kit.runs import write_json

        write_json(path, self.to_dict())


def _train_spec(raw: dict) -> TrainSpec:
    errors: list[tuple[str, str]] = []
    spec = build(TrainSpec, raw, "train", errors)
    if errors:
        raise RecipeError("training job", errors)
    return spec
