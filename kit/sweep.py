"""A grid recipe as a sweep: its graph (kit.dag) built by an engine, each finished run's summary written by the
driver, each failure a row, then the report's rows.

Nodes are content-addressed (kit.runs), so a stage shared by runs is built once, a node shared with another recipe
is reused and a killed sweep resumes where it stopped: finished nodes are skipped, the interrupted one starts again.
Two engines build the same graph: ``local`` (here, node after node, in the order of the plan) and ``ray``
(kit.cluster: the nodes whose dependencies are built run at once, across a cluster).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from kit import dag, runs
from kit.recipe import PlannedRun, Recipe
from kit.report.summary import dedupe_base, failed_summary, rows_of, validate_summary

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")


class NodeFailed(RuntimeError):
    """A node a run needs could not be built; the message names the node, its error and where its log is."""


class Sweep:
    """The driver's side of a sweep, whatever the engine: which nodes are built, failed or ready, and each run's
    summary and rows as its eval node finishes. Only the driver writes results/."""

    def __init__(self, graph: dag.Graph, recipe: Recipe, results_dir: Path | None, log_samples: bool):
        self.graph, self.recipe, self.results_dir, self.log_samples = graph, recipe, results_dir, log_samples
        self.built: set[str] = {n.id for n in graph.nodes.values() if n.done and n.kind != "eval"}
        self.failed: dict[str, BaseException] = {}
        self.started: set[str] = set()
        self.seconds: dict[str, float] = {}  # what each node built in this invocation took
        self.rows: dict[str, list[dict]] = {}  # by planned run tag
        self.submitted: Counter[str] = Counter()  # node kinds handed to the engine to build
        self.owner: dict[str, str] = {}  # node id -> the tag of the first run that needs it
        for planned, eval_id in graph.runs:
            for node_id in graph.ancestors(eval_id):
                self.owner.setdefault(node_id, planned.tag)
        self.bar = tqdm(total=len(graph.runs), desc=f"{recipe.name} runs", unit="run")

    def ready(self) -> list[dag.Node]:
        """Nodes not started whose dependencies are built, in the graph's order (a node needing a failed one never
        is: ``fail`` marks it failed)."""
        out = []
        for node in self.graph.nodes.values():
            if node.id in self.built or node.id in self.failed or node.id in self.started:
                continue
            if all(d in self.built for d in node.deps):
                out.append(node)
        return out

    def unfinished(self) -> bool:
        return len(self.built) + len(self.failed) < len(self.graph.nodes)

    def start(self, node: dag.Node) -> bool:
        """Mark ``node`` started; True when it has work to hand out (a cached eval node only assembles summaries)."""
        self.started.add(node.id)
        if not node.done:
            self.submitted[node.kind] += 1
        return not node.done

    def finish(self, node: dag.Node, result, seconds: float) -> None:
        self.built.add(node.id)
        if not node.done:
            self.seconds[node.id] = seconds
        if node.kind == "eval":
            for planned, summary in zip(node.planned, result, strict=True):
                self._record(planned, self._finish_run(planned, summary))

    def run_here(self, node: dag.Node) -> None:
        """Build ``node`` in this process, then ``finish`` or ``fail`` it: one failed node (OOM, timeout, bad data)
        must not end the sweep."""
        started = time.perf_counter()
        try:
            result = dag.run_node(node)
        except Exception as exc:
            self.fail(node, exc)
        else:
            self.finish(node, result, round(time.perf_counter() - started, 2))

    def fail(self, node: dag.Node, exc: BaseException) -> None:
        """``node`` failed: it, and every node that needs it, gives failed rows for its runs; the rest go on."""
        log.error("%s %s failed: %s", node.kind, node.label, exc)
        error = exc if node.kind == "eval" else NodeFailed(f"{node.kind} {node.label} failed: {exc}")
        if error is not exc:
            error.__cause__ = exc
        for node_id in [node.id, *sorted(self.graph.dependents(node.id))]:
            if node_id in self.failed:
                continue
            self.failed[node_id] = error
            failing = self.graph.nodes[node_id]
            for planned in failing.planned:
                summary = failed_summary(planned, error)
                validate_summary(summary)
                runs.write_json(runs.summary_path(self.recipe.name, planned.tag, self.results_dir), summary)
                self._record(planned, summary)

    def _finish_run(self, planned: PlannedRun, summary: dict) -> dict:
        from kit.pipeline import samples_phase, write_summary

        summary["timings_s_this_invocation"].update(self._timings(planned))
        if self.log_samples:
            samples_phase(planned.recipe, summary, runs.samples_dir(self.recipe.name, planned.tag, self.results_dir))
        _record_timing(summary)
        return write_summary(summary, runs.summary_path(self.recipe.name, planned.tag, self.results_dir))

    def _timings(self, planned: PlannedRun) -> dict[str, float]:
        """The seconds this invocation spent building the nodes ``planned`` needs that no earlier run needed: what
        its training, export and baseline cost (a stage shared with an earlier run counts there, as it did when
        runs were built one after another)."""
        mine = [n for n, tag in self.owner.items() if tag == planned.tag and n in self.seconds]
        kinds = {"train": ("stage", "merge"), "export": ("export",), "baseline": ("baseline",)}
        return {
            phase: round(sum(self.seconds[n] for n in mine if self.graph.nodes[n].kind in ks), 2)
            for phase, ks in kinds.items()
        }

    def _record(self, planned: PlannedRun, summary: dict) -> None:
        self.rows[planned.tag] = rows_of(summary)
        self.bar.update(1)

    def result_rows(self) -> list[dict]:
        self.bar.close()
        return dedupe_base([row for planned, _ in self.graph.runs for row in self.rows.get(planned.tag, [])])


def run_sweep(
    recipe: Recipe,
    results_dir: Path | None = None,
    log_samples: bool = False,
    engine: str = "local",
    address: str | None = None,
    max_retries: int = 3,
    cluster=None,
) -> list[dict]:
    """Every planned run; a failure becomes rows with its error and the sweep goes on. ``log_samples``: each run's
    per-item logs too (kit.pipeline.samples_phase). ``engine``: ``local`` or ``ray`` (kit.cluster: ``cluster``, a
    connected RayEngine, else one at ``address``; a task whose worker or node died is retried ``max_retries``
    times)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    if engine == "ray" and cluster is None:
        from kit.cluster import RayEngine

        with RayEngine(address, max_retries) as cluster:
            return run_sweep(recipe, results_dir, log_samples, engine, cluster=cluster)
    if engine == "ray":
        sweep = Sweep(dag.build(recipe, cluster.hardware), recipe, results_dir, log_samples)
        _announce(sweep)
        cluster.execute(sweep)
    else:
        from kit.pipeline import choose_hardware

        sweep = Sweep(dag.build(recipe, choose_hardware), recipe, results_dir, log_samples)
        _announce(sweep)
        run_local(sweep)
    built = ", ".join(f"{n} {kind}" for kind, n in sweep.submitted.items()) or "nothing"
    log.info("%s (%s engine): built %s; %d node(s) failed", recipe.name, engine, built, len(sweep.failed))
    return sweep.result_rows()


def run_local(sweep: Sweep) -> None:
    """The local engine: each ready node in turn, in this process (its training and export in worker processes)."""
    while sweep.unfinished():
        ready = sweep.ready()
        if not ready:
            break
        sweep.start(ready[0])
        sweep.run_here(ready[0])


def _announce(sweep: Sweep) -> None:
    pending = Counter(n.kind for n in sweep.graph.pending())
    what = ", ".join(f"{pending[k]} {k}" for k in dag.KINDS if pending[k]) or "nothing"
    log.info("%s: %d node(s), to build: %s", sweep.recipe.name, len(sweep.graph.nodes), what)


def _record_timing(summary: dict) -> None:
    """Keep what a full (uncached) run cost here, so later plans estimate from this machine."""
    t = summary["timings_s_this_invocation"]
    if t.get("train", 0) < 1 or t.get("export", 0) < 1:
        return  # a cached run says nothing about cost
    items = sum(s["n_items"] for s in summary["scores"].values())
    record = {
        "device": summary.get("provenance", {}).get("device", "cpu"),
        "overhead_s": round(t["export"] + t["train"] - summary["train"]["train_seconds"], 1),
        "eval_s_per_item": round(t["eval"] / items, 3) if items and t["eval"] > 1 else None,
    }
    runs.write_json(runs.timing_path(summary["run_id"]), record)
