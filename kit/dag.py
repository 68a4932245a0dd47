"""A sweep as a graph of content-addressed nodes, built once whatever runs it (kit.sweep's local engine, kit.cluster's
Ray engine).

Nodes, each named by what it builds (the id is the hash its folder is named by):
- ``stage``: one stage's data and adapter (kit.runs.stage_keys), after its parent's merge (or its parent, when stages
  chain by ``continue``);
- ``merge``: a stage's adapter merged into its base, the weights the next stage starts from;
- ``export``: the last stage's GGUF (merge, f16, parity, quantize);
- ``baseline``: the untrained base model, exported and scored (shared by every run that compares with it);
- ``eval``: a GGUF scored on its runs' tasks, and those runs' summaries, which go back to the driver.

A stage shared by several runs (DMT's specialist across mixed sequential and every k) is one node; so are the
baseline and each merge. A node whose outputs are cached is marked done when the graph is built, so a second sweep
has nothing to submit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kit import env, runs
from kit.recipe import PlannedRun, Recipe

KINDS = ("stage", "merge", "export", "baseline", "eval")


@dataclass
class Node:
    id: str
    kind: str
    label: str  # what a person calls it: "rq4 dmt-f1 [general]"
    deps: list[str]
    done: bool  # its outputs are cached
    recipe: Recipe  # the recipe of the first run that needs it: what its function is given
    hw: env.Hardware  # the hardware its keys were planned for
    index: int | None = None  # stage, merge: the stage's position in the run (merge: of the stage it feeds)
    planned: list[PlannedRun] = field(default_factory=list)  # eval: the runs whose summaries it assembles
    estimate_s: float = 0.0  # filled by kit.plan for the critical path


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)  # in the order a single machine builds them
    runs: list[tuple[PlannedRun, str]] = field(default_factory=list)  # each planned run and its eval node

    def add(self, node: Node) -> Node:
        """``node``, or the node already there under its id (a stage, merge or baseline shared by runs)."""
        return self.nodes.setdefault(node.id, node)

    def pending(self) -> list[Node]:
        return [n for n in self.nodes.values() if not n.done]

    def ancestors(self, node_id: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.nodes[node_id].deps)
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(self.nodes[dep].deps)
        return seen

    def dependents(self, node_id: str) -> set[str]:
        """Every node that needs ``node_id``, directly or through others."""
        return {n for n in self.nodes if node_id in self.ancestors(n)}

    def critical_path(self) -> tuple[float, int]:
        """(seconds, stages) of the longest chain of pending nodes by ``estimate_s``: the time of a sweep given a
        worker for every node that is ready, and how many stages train one after another on it."""
        longest: dict[str, tuple[float, int]] = {}
        for node in self.nodes.values():  # insertion order is a topological order
            before = max((longest[d] for d in node.deps), default=(0.0, 0))
            own = (0.0, 0) if node.done else (node.estimate_s, int(node.kind == "stage"))
            longest[node.id] = (before[0] + own[0], before[1] + own[1])
        return max(longest.values(), default=(0.0, 0))

    def serial_s(self) -> float:
        return sum(n.estimate_s for n in self.pending())


def build(recipe: Recipe, hardware: Callable[[Recipe], env.Hardware]) -> Graph:
    """The graph of every planned run of ``recipe``; ``hardware(run's recipe)`` is where its stages train (this
    machine's for the local engine, the cluster's training workers' for Ray), which their keys depend on."""
    from kit.eval.phase import passes, passes_done

    graph = Graph()
    for planned in recipe.runs():
        r, hw = planned.recipe, hardware(planned.recipe)
        resolved = r.to_dict()
        keys = runs.stage_keys(resolved, hw.backend, hw.dtype)
        prev: str | None = None
        parent: runs.RunDir | None = None
        for i, (name, key) in enumerate(keys):
            run = runs.run_dir(key)
            label = planned.tag if len(keys) == 1 else f"{planned.tag} [{name}]"
            deps = [] if prev is None else [prev]
            if parent is not None and r.train.stage_chaining != "continue":
                merge = Node(
                    f"merge:{parent.id}", "merge", f"{label} (merge)", deps, runs.is_done(parent.merged), r, hw, i
                )
                deps = [graph.add(merge).id]
            prev = graph.add(Node(stage_id(run.id), "stage", label, deps, runs.is_done(run.train), r, hw, i)).id
            parent = run
        export_dir = run.export(resolved["export"])
        export = Node(
            f"export:{run.id}/{export_dir.name}", "export", planned.tag, [prev], runs.is_done(export_dir), r, hw
        )
        deps = [graph.add(export).id]
        if r.eval.baseline:
            base = runs.baseline_export_dir(runs.baseline_dir(resolved["model"], resolved["export"]))
            folders = passes(base, r)
            node_id = f"baseline:{runs.content_hash([str(f) for f in [base, *folders]])}"
            done = runs.is_done(base) and passes_done(folders)
            deps.append(graph.add(Node(node_id, "baseline", f"base {r.model.base}", [prev], done, r, hw)).id)
        folders = passes(export_dir, r)
        node_id = f"eval:{runs.content_hash([str(f) for f in [export_dir, *folders]])}"
        node = graph.add(
            Node(node_id, "eval", planned.tag, deps, runs.is_done(export_dir) and passes_done(folders), r, hw)
        )
        node.planned.append(planned)
        graph.runs.append((planned, node.id))
    return graph


def stage_id(run_id: str) -> str:
    """The node of the stage whose run directory is ``run_id``."""
    return f"stage:{run_id}"


def run_node(node: Node) -> list[dict] | None:
    """Build what ``node`` names (its dependencies built); an eval node returns its runs' summaries."""
    from kit import pipeline

    if node.kind == "stage":
        return pipeline.build_stage(node.recipe, node.hw, node.index)
    if node.kind == "merge":
        return pipeline.build_merge(node.recipe, node.hw, node.index)
    if node.kind == "export":
        return pipeline.build_export(node.recipe, node.hw)
    if node.kind == "baseline":
        return pipeline.build_baseline_eval(node.recipe, node.hw)
    if node.kind == "eval":
        return pipeline.build_summaries(node.planned, node.hw)
    raise ValueError(f"unknown node kind {node.kind!r}: one of {', '.join(KINDS)}")
