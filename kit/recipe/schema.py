"""The recipe schema: frozen dataclasses, each checking its own values (``problems()``) and the names it uses
(generators, formats, files, tasks, base aliases), so that a typo fails at load time, before any model loads.
It runs past 400 lines because each of its dataclasses carries its own checks beside its fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kit.recipe.strict import _positive
from kit.registry import did_you_mean

if TYPE_CHECKING:
    from kit.recipe.grid import PlannedRun

SOURCE_KINDS = ("builtin", "hf", "local")
# cpu: the embedded default (minutes on 2 cores); cpu-long: the same tasks at P1's scale of fractions,
# overnight on a CPU; gpu: the real use. The hardware picks cpu or gpu; cpu-long is asked for by name.
PROFILES = ("cpu", "cpu-long", "gpu")
DEFAULT_STAGE = "sft"  # the one stage of a run that names none (its key, kit.runs.stage_keys, says so too)
QUANT_TYPES = ("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0")


# --- the schema -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    base: str = "smollm2-135m"  # a kit alias (kit.models.ALIASES), a hub id, or a local folder
    # a kit template (kit.data.templates), "tokenizer" (the base model's own) or a .jinja file (keyed by content)
    chat_template: str = "smollm2"
    max_seq_len_tokens: int = 512

    def problems(self) -> list[tuple[str, str]]:
        from kit.data.templates import spec_problem
        from kit.models import ALIASES

        out = _positive(self, "max_seq_len_tokens")
        template = spec_problem(self.chat_template)
        if template:
            out.append(("chat_template", template))
        # not an alias, not "owner/name" on the hub, not a folder here: a typo of an alias, most likely
        if self.base not in ALIASES and "/" not in self.base and not Path(self.base).exists():
            out.append(
                (
                    "base",
                    f"{self.base!r} is not a kit alias{did_you_mean(self.base, ALIASES)} ({', '.join(ALIASES)}), "
                    "a hub id ('owner/name') or a local folder",
                )
            )
        return out


@dataclass(frozen=True)
class SelectSpec:
    """Keep only a source's rows that a classifier (kit.data.classify) labels ``label`` (one label or a list of
    them): P2's split of ShareGPT into code and the rest. The pool is the selected rows, then capped by pool_n."""

    classifier: str
    label: str | tuple[str, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """The selected labels, sorted (so [math, other] and [other, math] select the same rows)."""
        return tuple(sorted({self.label} if isinstance(self.label, str) else set(self.label)))

    def problems(self) -> list[tuple[str, str]]:
        from kit.data.classify import CLASSIFIERS, LABELS

        out = []
        if self.classifier not in CLASSIFIERS:
            out.append(
                (
                    "classifier",
                    f"unknown classifier {self.classifier!r}{did_you_mean(self.classifier, CLASSIFIERS)}; "
                    f"valid: {', '.join(sorted(CLASSIFIERS))}",
                )
            )
        given = [self.label] if isinstance(self.label, str) else list(self.label)
        out += [
            ("label", f"unknown label {x!r}{did_you_mean(x, LABELS)}; valid: {', '.join(LABELS)}")
            for x in given
            if x not in LABELS
        ]
        if not given:
            out.append(("label", f"name at least one label ({', '.join(LABELS)})"))
        elif len(set(given)) != len(given):
            out.append(("label", f"lists a label twice: {given}"))
        elif set(given) == set(LABELS):
            out.append(("label", f"selects every label ({', '.join(LABELS)}): leave 'select:' out instead"))
        return out


@dataclass(frozen=True)
class SourceSpec:
    """Where rows come from, and how many of them to take.

    A mixture entry says ``fraction:`` or ``n:``; a grid's named source (``sources:``) says neither: it is a pool
    that each run draws its arm's fraction of (``take``)."""

    source: str  # "builtin:math", "hf:openai/gsm8k", "local:path/to/file.jsonl"
    format: str | None = None  # for hf/local: gsm8k | alpaca | sharegpt | chat (hf: known ids need none)
    split: str = "train"  # hub split
    pool_n: int | None = None  # cap the pool (a nested subset) before fraction/n apply
    fraction: float | None = None
    n: int | None = None
    # Only the rows a classifier labels so (P2's code / everything else); None: every row. Left out of the recipe's
    # dict when None (Recipe.to_dict), so the runs of recipes written before it existed keep their ids.
    select: SelectSpec | None = None
    # hf only: one file of the dataset repository (a glob matches several), read with ``format:`` through
    # huggingface_hub instead of ``datasets`` (P3's DoIT repository is not a loadable dataset), at ``revision:`` (a
    # commit; it enters the run key). Both left out of the recipe's dict when None, as select is.
    file: str | None = None
    revision: str | None = None
    # hf only, through ``datasets``: the dataset's config (load_dataset's name=; overrides KNOWN_HUB_FORMATS' default)
    # and which of its files to read (data_files=: a path, a glob or a list). Any source: where the format's fields
    # sit when the dataset names them otherwise (columns: field -> column, kit.data.formats.FIELDS) and which speaker
    # is user/assistant/system (roles:, sharegpt and chat). Left out of the recipe's dict when None, as select is; set,
    # they enter the run key.
    name: str | None = None
    data_files: str | tuple[str, ...] | None = None
    columns: dict[str, str] | None = None
    roles: dict[str, str] | None = None

    @property
    def kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def is_pool(self) -> bool:
        return self.fraction is None and self.n is None

    def take(self, fraction: float) -> SourceSpec:
        """The mixture entry that draws ``fraction`` of this pool."""
        pool = dataclasses.replace(self, fraction=None, n=None)
        if self.kind == "builtin" and self.pool_n:
            # A generator's pool size is known now: say the count, so two fractions that round to the
            # same rows are the same run (and are trained once). With select: too, as kit.data.mixture generates
            # until exactly pool_n selected rows exist.
            from kit.data.subset import fraction_to_n

            return dataclasses.replace(pool, n=fraction_to_n(self.pool_n, fraction))
        return dataclasses.replace(pool, fraction=fraction)

    @property
    def target(self) -> str:
        return self.source.split(":", 1)[1] if ":" in self.source else ""

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.kind not in SOURCE_KINDS or not self.target:
            out.append(
                ("source", f"{self.source!r} must look like 'builtin:math', 'hf:<dataset id>' or 'local:<path>'")
            )
        if self.fraction is not None and self.n is not None:
            out.append(("fraction", "give exactly one of 'fraction:' (0 < f <= 1) or 'n:' (a count), not both"))
        if self.fraction is not None and not 0 < self.fraction <= 1:
            out.append(("fraction", f"must be in (0, 1], got {self.fraction}"))
        if self.n is not None and self.n < 1:
            out.append(("n", f"must be >= 1, got {self.n}"))
        if self.kind == "builtin" and self.n is None and self.pool_n is None:
            out.append(("pool_n", "a built-in generator has no natural size: give 'pool_n:' with 'fraction:'"))
        if self.pool_n is not None and self.pool_n < 1:
            out.append(("pool_n", f"must be >= 1, got {self.pool_n}"))
        if self.file is not None and self.kind != "hf":
            out.append(("file", "'file:' names a file of a hub dataset repository: it needs an 'hf:' source"))
        if self.file is not None and self.format is None:
            out.append(("format", "a hub file needs 'format:' (the kit cannot guess a single file's layout)"))
        if self.revision is not None and self.kind != "hf":
            out.append(("revision", "'revision:' pins a hub repository: it needs an 'hf:' source"))
        if self.kind == "local" and self.format is None:
            out.append(("format", "a local file needs 'format:' (gsm8k | alpaca | sharegpt | chat)"))
        return out + self._datasets_problems() + self._name_problems()

    def _datasets_problems(self) -> list[tuple[str, str]]:
        """name/data_files are options of ``datasets.load_dataset``: an hf source read without ``file:``."""
        out = []
        for key in ("name", "data_files"):
            if getattr(self, key) is None:
                continue
            if self.kind != "hf":
                out.append((key, f"'{key}:' is an option of a hub dataset: it needs an 'hf:' source"))
            elif self.file is not None:
                out.append(
                    (key, f"'file:' reads one file through huggingface_hub, '{key}:' goes to datasets: give one")
                )
        if self.data_files is not None and not self.data_files:
            out.append(("data_files", "names no file: give a path, a glob or a list of them (or leave it out)"))
        return out

    def _name_problems(self) -> list[tuple[str, str]]:
        """The names this entry uses exist: the generator, the format, the file, a hub id's known format."""
        from kit.data.builtin import GENERATORS
        from kit.data.formats import FORMATS, KNOWN_HUB_FORMATS

        out = []
        if self.kind == "builtin" and self.target and self.target not in GENERATORS:
            out.append(
                (
                    "source",
                    f"unknown built-in generator {self.target!r}{did_you_mean(self.target, GENERATORS)}; "
                    f"valid: {', '.join('builtin:' + g for g in GENERATORS)}",
                )
            )
        if self.format is not None and self.format not in FORMATS:
            out.append(
                (
                    "format",
                    f"unknown format {self.format!r}{did_you_mean(self.format, FORMATS)}; valid: {', '.join(FORMATS)}",
                )
            )
        if self.kind == "hf" and self.format is None and self.file is None and self.target not in KNOWN_HUB_FORMATS:
            out.append(
                ("format", f"the kit does not know {self.target!r}'s layout: give 'format:' ({', '.join(FORMATS)})")
            )
        if self.kind == "local" and self.target and not Path(self.target).is_file():
            out.append(("source", f"no file {self.target!r} (relative paths are taken from {Path.cwd()})"))
        return out + self._layout_problems()

    def _layout_problems(self) -> list[tuple[str, str]]:
        """columns:/roles: name fields and roles of this source's format (its own, or a known hub id's)."""
        from kit.data.formats import KNOWN_HUB_FORMATS, layout_problems

        if self.columns is None and self.roles is None:
            return []
        fmt = self.format or KNOWN_HUB_FORMATS.get(self.target, (None,))[0]
        return [] if fmt is None else layout_problems(fmt, self.columns, self.roles)


@dataclass(frozen=True)
class DataSpec:
    mixture: tuple[SourceSpec, ...] = ()  # a single run's data; a grid recipe builds one per run
    seed: int = 0

    def problems(self) -> list[tuple[str, str]]:
        return mixture_problems(self.mixture)


def mixture_problems(mixture: tuple[SourceSpec, ...]) -> list[tuple[str, str]]:
    """Every mixture entry says how much to take (a pool without a fraction belongs in a grid's sources)."""
    return [
        (f"mixture.{i}.fraction", "give exactly one of 'fraction:' (0 < f <= 1) or 'n:' (a count)")
        for i, entry in enumerate(mixture)
        if entry.is_pool
    ]


@dataclass(frozen=True)
class ReplaySpec:
    """Mix back a fraction of an earlier stage's training rows (DMT's k)."""

    stage: str
    fraction: float | Literal["grid"]  # "grid": the grid's fraction, so one arm sweeps k

    def problems(self) -> list[tuple[str, str]]:
        bad = self.fraction != "grid" and not 0 < self.fraction <= 1
        return (
            [("fraction", f"must be in (0, 1] or 'grid' (leave replay out for none), got {self.fraction}")]
            if bad
            else []
        )


@dataclass(frozen=True)
class StageSpec:
    """One training stage of a grid arm, as written: named pools, each at a fixed fraction or the grid's, and a
    replay. ``resolve`` makes it the ``Stage`` of one run; the two stay apart because a ``Stage``'s fields are
    what every stage key is made of (kit.runs.stage_keys), while this one's names only mean something in a grid."""

    name: str
    sources: dict[str, float | Literal["grid"]] = field(default_factory=dict)
    replay: ReplaySpec | None = None
    epochs: float | None = None  # this stage's epochs, else train.epochs

    def problems(self) -> list[tuple[str, str]]:
        out = [
            (f"sources.{k}", f"must be in (0, 1] or 'grid', got {v}")
            for k, v in self.sources.items()
            if v != "grid" and not 0 < v <= 1
        ]
        if not self.sources and self.replay is None:
            out.append(("sources", "a stage needs sources, a replay, or both"))
        return out

    def resolve(self, pools: dict[str, SourceSpec], fraction: float | None) -> Stage:
        """This stage in the run at the grid's ``fraction``: each source drawn from its pool, the replay's 'grid'
        replaced by the fraction."""
        at = lambda f: fraction if f == "grid" else f  # noqa: E731
        mixture = tuple(pools[name].take(at(f)) for name, f in self.sources.items())
        replay = (self.replay.stage, at(self.replay.fraction)) if self.replay else (None, None)
        return Stage(self.name, mixture, *replay, self.epochs)


@dataclass(frozen=True)
class ArmSpec:
    """One line of a grid: which named sources are mixed (or which stages run), scored on which tasks.

    ``sources: [a, b]`` is one stage with every source at the grid's fraction; ``stages:`` lists
    stages trained one after the other. An arm that never says 'grid' is one run, not one per fraction.
    """

    name: str
    tasks: tuple[str, ...]
    sources: tuple[str, ...] = ()
    stages: tuple[StageSpec, ...] = ()

    def problems(self) -> list[tuple[str, str]]:
        if bool(self.sources) == bool(self.stages):
            return [("sources", "give exactly one of 'sources:' (one stage) or 'stages:'")]
        names = [st.name for st in self.stages]
        out = [("stages", f"stage names must be unique, got {names}")] if len(set(names)) != len(names) else []
        for i, st in enumerate(self.stages):
            if st.replay and st.replay.stage not in names[:i]:
                out.append(
                    (
                        f"stages.{i}.replay.stage",
                        f"{st.replay.stage!r} is not an earlier stage of this arm ({names[:i]})",
                    )
                )
        return out

    def stage_specs(self) -> tuple[StageSpec, ...]:
        return self.stages or (StageSpec(DEFAULT_STAGE, {s: "grid" for s in self.sources}),)

    @property
    def uses_grid(self) -> bool:
        return any(
            "grid" in st.sources.values() or (st.replay and st.replay.fraction == "grid") for st in self.stage_specs()
        )


@dataclass(frozen=True)
class Stage:
    """A concrete training stage of one run (``stages:`` of a single-run recipe, or a grid's ``StageSpec``
    resolved): its fields make up its stage key."""

    name: str
    mixture: tuple[SourceSpec, ...] = ()
    replay_stage: str | None = None
    replay_fraction: float | None = None
    epochs: float | None = None


@dataclass(frozen=True)
class GridSpec:
    """Runs = arms x fractions; each arm takes ``fraction`` of each of its sources' pools."""

    fractions: tuple[float, ...]
    arms: tuple[ArmSpec, ...]
    # Training seeds per cell: a small fraction's score depends on which few examples were drawn and on
    # the adapter's initialisation, so its cell can be trained more than once (seed s shifts data.seed
    # and train.seed by s; seed 0 is the run every recipe shares). Only fractions <= seeds_max_fraction.
    seeds: int = 1
    seeds_max_fraction: float = 1.0
    # An arm's tasks may name abilities ("math", "code", "general"): each stands for the tasks listed here, so a
    # profile changes a paper's benchmarks in one line instead of repeating every arm.
    abilities: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def tasks_of(self, arm: ArmSpec) -> tuple[str, ...]:
        """The eval tasks an arm is scored on, its abilities replaced by their tasks."""
        return tuple(dict.fromkeys(t for name in arm.tasks for t in self.abilities.get(name, (name,))))

    def seeds_at(self, fraction: float | None) -> int:
        return self.seeds if fraction is not None and fraction <= self.seeds_max_fraction else 1

    def problems(self) -> list[tuple[str, str]]:
        out = [
            (f"fractions.{i}", f"must be in (0, 1], got {f}") for i, f in enumerate(self.fractions) if not 0 < f <= 1
        ]
        if self.seeds < 1:
            out.append(("seeds", f"must be >= 1 (training seeds per cell), got {self.seeds}"))
        if not 0 < self.seeds_max_fraction <= 1:
            out.append(("seeds_max_fraction", f"must be in (0, 1], got {self.seeds_max_fraction}"))
        if len(set(self.fractions)) != len(self.fractions):
            out.append(("fractions", "lists a fraction twice"))
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names) or not names:
            out.append(("arms", f"needs at least one arm and unique names, got {names}"))
        return out


@dataclass(frozen=True)
class LoraSpec:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

    def problems(self) -> list[tuple[str, str]]:
        out = _positive(self, "rank", "alpha")
        if not 0 <= self.dropout < 1:
            out.append(("dropout", f"must be in [0, 1), got {self.dropout}"))
        return out


@dataclass(frozen=True)
class TrainSpec:
    backend: Literal["auto", "hf", "unsloth"] = "auto"
    quantization: Literal["none", "nf4"] = "none"  # nf4 = 4-bit QLoRA (bitsandbytes, or Unsloth's loader)
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    epochs: float = 1.0
    max_steps: int | None = None  # when set, overrides epochs
    # A floor on optimizer steps (P3 trains its smallest sets for more epochs: 25/20/18 instead of 15); None = none.
    # Left out of the recipe's dict when None, so existing run ids are unchanged.
    min_steps: int | None = None
    batch_size: int = 4
    grad_accum_steps: int = 1
    learning_rate: float = 2e-4
    lr_scheduler: Literal["linear", "cosine", "constant"] = "linear"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    gradient_checkpointing: bool = False
    length_grouping: bool = True  # batches of similar length: less padding (1.15x on CPU, make bench)
    packing: bool = False  # TRL's best-fit packing into max_seq_len_tokens rows (padding-free)
    seed: int = 0
    lora: LoraSpec = field(default_factory=LoraSpec)
    # How stages chain: "merge" folds each stage's adapter into the weights the next stage starts
    # from (a fresh adapter per stage, like full fine-tuning from the previous stage's weights);
    # "continue" trains the same adapter on through every stage.
    stage_chaining: Literal["merge", "continue"] = "merge"
    # Experiment trackers, as transformers' report_to: none | tensorboard | wandb | trackio | mlflow, or a list of them
    # (kit.backends.tracking). Not part of any stage key: a tracked run has the id of the same run untracked. Left out
    # of the recipe's dict when None, as min_steps is.
    report_to: str | tuple[str, ...] | None = None

    @property
    def trackers(self) -> tuple[str, ...]:
        """The trackers asked for, ``none`` dropped."""
        names = (self.report_to,) if isinstance(self.report_to, str) else tuple(self.report_to or ())
        return tuple(name for name in names if name != "none")

    def problems(self) -> list[tuple[str, str]]:
        out = _positive(self, "epochs", "batch_size", "grad_accum_steps", "learning_rate")
        out += self._tracker_problems()
        if self.min_steps is not None and self.min_steps < 1:
            out.append(("min_steps", f"must be >= 1 (or left out for no floor), got {self.min_steps}"))
        if self.max_steps is not None and self.max_steps < 1:
            out.append(("max_steps", f"must be >= 1 (or left out to use epochs), got {self.max_steps}"))
        if not 0 <= self.warmup_ratio < 1:
            out.append(("warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}"))
        return out

    def _tracker_problems(self) -> list[tuple[str, str]]:
        """Known tracker names, each once, and installed: a missing package fails here, before anything trains."""
        from kit.backends.tracking import NONE, TRACKERS, missing

        names = (self.report_to,) if isinstance(self.report_to, str) else tuple(self.report_to or ())
        valid = (NONE, *TRACKERS)
        out = [
            ("report_to", f"unknown tracker {n!r}{did_you_mean(n, valid)}; valid: {', '.join(valid)}")
            for n in names
            if n not in valid
        ]
        if len(set(names)) != len(names):
            out.append(("report_to", f"lists a tracker twice: {list(names)}"))
        if NONE in names and len(names) > 1:
            out.append(("report_to", f"'none' with trackers is a contradiction: {list(names)}"))
        out += [
            ("report_to", f"{n} is not installed in this environment: {missing(n)}")
            for n in dict.fromkeys(names)
            if n in TRACKERS and missing(n)
        ]
        return out


@dataclass(frozen=True)
class ExportSpec:
    quant: str = "Q8_0"
    parity_prompts: int = 3
    parity_max_tokens: int = 24
    keep_merged: bool = False  # the merged HF folder is large (13 GB at 7B); the GGUFs are what eval needs
    # A GGUF that does not answer like the merged model (kit.export.parity) fails its run unless this is true; then
    # its scores are kept and every table marks them. Not part of the export's key: it decides what happens after.
    allow_parity_mismatch: bool = False

    def problems(self) -> list[tuple[str, str]]:
        out = _positive(self, "parity_prompts", "parity_max_tokens")
        if self.quant not in QUANT_TYPES:
            out.append(
                (
                    "quant",
                    f"{self.quant!r} is not one of {', '.join(QUANT_TYPES)}{did_you_mean(self.quant, QUANT_TYPES)}",
                )
            )
        return out


@dataclass(frozen=True)
class EvalTaskSpec:
    task: str
    n: int | None = None  # None = every item the task has
    optional: bool = False  # skip (logged, recorded) when the task says it cannot run here, e.g. no judge model
    # Teacher-forced items (gold vs distractors, kit.eval.dense) for a task that has them; None = none.
    dense_n: int | None = None
    # The generation budget, where a profile's models need another than the task's MAX_NEW_TOKENS (a 7B model
    # reasons before it answers; a 135M one's extra tokens are rambling); None = the task's.
    max_new_tokens: int | None = None
    # For a task module that serves several files (P3's doit: one per ability): which one, and which split
    # (None = the task's default). Left out of the recipe's dict when None.
    subset: str | None = None
    split: str | None = None

    @property
    def name(self) -> str:
        """What results and reports call this task: ``doit:code`` for a subset, ``doit:code@valid`` for a split."""
        return self.task + (f":{self.subset}" if self.subset else "") + (f"@{self.split}" if self.split else "")

    def problems(self) -> list[tuple[str, str]]:
        from kit.eval.tasks import TASKS

        out = []
        if self.task in TASKS and (self.subset is not None or self.split is not None):
            module = _task_module(self.task)
            subsets = getattr(module, "SUBSETS", None)
            if subsets is None:
                out.append(("subset", f"task {self.task!r} has one item set: leave 'subset:' and 'split:' out"))
            elif self.subset not in subsets:
                out.append(
                    (
                        "subset",
                        f"task {self.task!r} has no subset {self.subset!r}{did_you_mean(str(self.subset), subsets)}; "
                        f"valid: {', '.join(subsets)}",
                    )
                )
            if self.split is not None and subsets is not None and self.split not in module.SPLITS:
                out.append(("split", f"task {self.task!r} has splits {', '.join(module.SPLITS)}, not {self.split!r}"))
        if self.task not in TASKS:
            out.append(
                (
                    "task",
                    f"unknown task {self.task!r}{did_you_mean(self.task, TASKS)}; valid: {', '.join(sorted(TASKS))}",
                )
            )
        if self.n is not None and self.n < 1:
            out.append(("n", f"must be >= 1, got {self.n}"))
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            out.append(("max_new_tokens", f"must be >= 1 (or left out for the task's own), got {self.max_new_tokens}"))
        if self.dense_n is not None:
            if self.dense_n < 1:
                out.append(("dense_n", f"must be >= 1 (or left out for no dense items), got {self.dense_n}"))
            elif self.task in TASKS and not hasattr(_task_module(self.task), "dense_items"):
                out.append(
                    ("dense_n", f"task {self.task!r} has no dense (gold vs distractor) items; leave dense_n out")
                )
        return out


def _drop_unset(d: dict, *keys: str) -> None:
    """Remove ``keys`` whose value is None: fields added after runs existed, kept out of their keys until set."""
    for key in keys:
        if key in d and d[key] is None:
            del d[key]


def _task_module(name: str):
    from kit.eval.tasks import get_task

    return get_task(name)


@dataclass(frozen=True)
class EvalSpec:
    tasks: tuple[EvalTaskSpec, ...] = ()
    seed: int = 0
    baseline: bool = False  # also score the untrained base model (exported the same way)
    n_ctx_tokens: int = 2048  # per sequence
    n_threads: int | None = None  # None = every core
    # Prompts decoded at once (greedy results can shift slightly with it on quantized models, so it is
    # fixed here and recorded with every score); 1 is the exact one-at-a-time mode.
    batch_size: int = 8

    def problems(self) -> list[tuple[str, str]]:
        return _positive(self, "n_ctx_tokens", "batch_size")


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str = ""
    profile: Literal["auto", "cpu", "cpu-long", "gpu"] = "auto"
    model: ModelSpec = field(default_factory=ModelSpec)
    data: DataSpec = field(default_factory=DataSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    export: ExportSpec = field(default_factory=ExportSpec)
    eval: EvalSpec = field(default_factory=EvalSpec)
    sources: dict[str, SourceSpec] = field(default_factory=dict)  # a grid's pools (no fraction or n)
    grid: GridSpec | None = None
    stages: tuple[Stage, ...] = ()  # a single multi-stage run (a grid fills this per run)

    def to_dict(self) -> dict:
        """The recipe as plain data (what run keys and summaries are made of); fields added after runs existed are
        left out while None (a source's select/file/revision/name/data_files/columns/roles, an eval task's
        max_new_tokens/subset/split, train's min_steps and report_to), so adding them changed no existing run id,
        recipe hash or summary."""
        out = dataclasses.asdict(self)
        entries = [*out["data"]["mixture"], *out["sources"].values()]
        entries += [entry for stage in out["stages"] for entry in stage["mixture"]]
        for entry in entries:
            _drop_unset(entry, "select", "file", "revision", "name", "data_files", "columns", "roles")
        for task in out["eval"]["tasks"]:
            _drop_unset(task, "max_new_tokens", "subset", "split")
        _drop_unset(out["train"], "min_steps", "report_to")
        return out

    def problems(self) -> list[tuple[str, str]]:
        if self.grid is None:
            return self._single_run_problems()
        out = (
            [("data.mixture", "a grid recipe builds each run's mixture from sources: leave it out")]
            if self.data.mixture
            else []
        )
        out += [
            (f"sources.{name}.fraction", "a grid's source is a pool: its arms say how much; leave 'fraction:'/'n:' out")
            for name, pool in self.sources.items()
            if not pool.is_pool
        ]
        tasks = {t.name for t in self.eval.tasks}
        for i, arm in enumerate(self.grid.arms):
            used = [s for st in arm.stage_specs() for s in st.sources]
            out += [
                (
                    f"grid.arms.{i}.{'sources' if arm.sources else 'stages'}",
                    f"no source named {s!r}{did_you_mean(s, self.sources)}; defined: {', '.join(self.sources)}",
                )
                for s in dict.fromkeys(used)
                if s not in self.sources
            ]
            out += [
                (
                    f"grid.arms.{i}.tasks",
                    f"{t!r} is not in eval.tasks ({', '.join(sorted(tasks))})"
                    + (
                        f" nor an ability of grid.abilities ({', '.join(self.grid.abilities)})"
                        if self.grid.abilities
                        else ""
                    ),
                )
                for t in self.grid.tasks_of(arm)
                if t not in tasks
            ]
        return out

    def _single_run_problems(self) -> list[tuple[str, str]]:
        if not self.stages:
            return (
                [] if self.data.mixture else [("data.mixture", "needs at least one entry (or give a grid: or stages:)")]
            )
        out = (
            [("data.mixture", "a recipe with stages: gives each stage its mixture; leave this out")]
            if self.data.mixture
            else []
        )
        names = [st.name for st in self.stages]
        for i, st in enumerate(self.stages):
            if st.replay_stage is not None and st.replay_stage not in names[:i]:
                out.append((f"stages.{i}.replay_stage", f"{st.replay_stage!r} is not an earlier stage ({names[:i]})"))
            if not st.mixture and st.replay_stage is None:
                out.append((f"stages.{i}.mixture", "a stage needs a mixture, a replay, or both"))
            out += [(f"stages.{i}.{key}", msg) for key, msg in mixture_problems(st.mixture)]
        return out

    def stage_list(self) -> tuple[Stage, ...]:
        """The stages this run trains, in order (a plain recipe is one stage of its data.mixture)."""
        return self.stages or (Stage(DEFAULT_STAGE, self.data.mixture),)

    def runs(self) -> list[PlannedRun]:
        """The grid expanded into single-run recipes (or this recipe alone when it has no grid): kit.recipe.grid."""
        from kit.recipe.grid import expand

        return expand(self)
