"""The Ray engine: a sweep's graph (kit.dag) as Ray tasks across a cluster, each node started as soon as the nodes
it needs are built, so RQ4's stages train in waves (every stage 1 at once, then the stage 2s) instead of in a row.

- Resources per node kind (``resources``): a GPU for training, a share of one for llama.cpp scoring, CPUs for
  merge and export; from ``KIT_RAY_RESOURCES`` (a site file or JSON), never from the recipe, so they change no run id.
- Hardware is resolved where the work runs: one probe task on a training worker says which backend and dtype the
  stages train with (they enter the run ids), every stage task checks it trains with the same, and the driver plans
  eval keys with the CPUs an eval task is given (``KIT_CPUS``; llama.cpp's thread count is in the eval key).
- Failures: a task whose worker or node died is retried (``max_retries``); an error raised by the kit's code (out of
  memory, bad data) fails that node and what needs it, as failed rows naming the node and its log (kit.sweep).
- Storage: every worker reads and writes the same ``KIT_HOME`` (a shared POSIX filesystem: NFS, Lustre, a cloud
  filestore) and only the driver writes results/; the kit must import on every node (installed, or a checkout on
  the shared filesystem, which is put on the workers' PYTHONPATH).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from kit import dag, env, runs
from kit.recipe import Recipe

log = logging.getLogger(__name__)

# What each node kind asks of the cluster, in Ray's terms; ``baseline`` (an export and scoring of the base model)
# asks what ``eval`` does, so that both score with the same thread count (it is in the eval key).
RESOURCE_KINDS = ("stage", "merge", "export", "eval")
RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory_gib")
EVAL_GPU_SHARE = 0.25  # llama.cpp scoring a 7B Q4_K_M needs ~5 GB: four to a GPU
FORWARDED_ENV = ("KIT_", "HF_", "TRANSFORMERS_", "TOKENIZERS_", "RAY_AUTH_MODE")
CRASH_ONCE = "KIT_TEST_CRASH_ONCE"  # "<kind>:<folder>": each such task's first attempt kills its worker (tests)


def default_resources(node_cpus: int, node_gpus: float) -> dict[str, dict]:
    """Per kind: with GPUs, one per training task and a quarter per scoring task, the node's CPUs shared out per
    GPU; without, every task takes a whole node's CPUs, one task a node, as one machine runs them."""
    if not node_gpus:
        return {kind: {"num_cpus": node_cpus} for kind in RESOURCE_KINDS}
    per_gpu = max(1, int(node_cpus // node_gpus))
    return {
        "stage": {"num_gpus": 1, "num_cpus": per_gpu},
        "merge": {"num_cpus": per_gpu},
        "export": {"num_cpus": per_gpu},
        "eval": {"num_gpus": EVAL_GPU_SHARE, "num_cpus": max(1, per_gpu // 4)},
    }


def site_resources(text: str | None) -> dict[str, dict]:
    """``KIT_RAY_RESOURCES``: a JSON object, or the path of a .json or .yaml file holding one, of
    ``{kind: {num_cpus, num_gpus, memory_gib}}`` for the kinds to change."""
    if not text:
        return {}
    where = "KIT_RAY_RESOURCES"
    if not text.lstrip().startswith("{"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ValueError(f"{where}={text}: no such file; give a JSON object or a .json/.yaml file's path")
        where, text = str(path), path.read_text()
    import yaml

    try:
        site = yaml.safe_load(text)  # JSON is YAML
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: not JSON or YAML: {exc}") from None
    problems = []
    if not isinstance(site, dict):
        raise ValueError(f"{where}: expected a mapping of node kind to resources, got {type(site).__name__}")
    for kind, asks in site.items():
        if kind not in RESOURCE_KINDS:
            problems.append(f"unknown node kind {kind!r} (one of {', '.join(RESOURCE_KINDS)}; baseline takes eval's)")
        elif not isinstance(asks, dict):
            problems.append(f"{kind}: expected a mapping of {', '.join(RESOURCE_KEYS)}")
        else:
            problems += [
                f"{kind}.{k}: unknown (one of {', '.join(RESOURCE_KEYS)})" for k in asks if k not in RESOURCE_KEYS
            ]
            problems += [f"{kind}.{k}: {v!r} is not a number >= 0" for k, v in asks.items() if not _amount(v)]
    if problems:
        raise ValueError(f"{where}: " + "; ".join(problems))
    return site


def _amount(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def resources(node_cpus: int, node_gpus: float, site: dict[str, dict]) -> dict[str, dict]:
    """Ray options per node kind: the defaults for this cluster's nodes, with the site's changes."""
    out = default_resources(node_cpus, node_gpus)
    for kind, asks in site.items():
        out[kind] = {**out[kind], **asks}
    out["baseline"] = out["eval"]
    too_big = [
        f"{kind} asks {asks.get(key, 0):g} {what} and the largest node has {have:g}"
        for kind, asks in out.items()
        for key, what, have in (("num_cpus", "CPUs", node_cpus), ("num_gpus", "GPUs", node_gpus))
        if asks.get(key, 0) > have
    ]
    if too_big:  # Ray would wait for such a node for ever
        raise ValueError("no node of this Ray cluster can run " + "; ".join(too_big) + " (KIT_RAY_RESOURCES)")
    return {kind: _ray_options(asks) for kind, asks in out.items()}


def _ray_options(asks: dict) -> dict:
    options = {k: v for k, v in asks.items() if k != "memory_gib"}
    if asks.get("memory_gib"):
        options["memory"] = int(asks["memory_gib"] * 2**30)
    options.setdefault("num_cpus", 1)
    return options


def forwarded_env() -> dict[str, str]:
    """The environment every task sees: the kit's and the hub's settings, and a checkout on PYTHONPATH (a cluster
    whose nodes share the checkout's filesystem imports the same code)."""
    out = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV) and k != "KIT_CPUS"}
    if runs.in_checkout():
        out["PYTHONPATH"] = os.pathsep.join(p for p in (str(runs.REPO), os.environ.get("PYTHONPATH")) if p)
    return out


class RayEngine:
    """Connects to a Ray cluster (``address``, or ``RAY_ADDRESS``, else a local one started here) for one sweep."""

    def __init__(self, address: str | None = None, max_retries: int = 3):
        self.address, self.max_retries = address, max_retries
        self.options: dict[str, dict] = {}
        self._hardware: dict[tuple, env.Hardware] = {}
        self._saved_cpus: str | None = None
        self._owned = False
        self.runtime_env: dict = {}

    def __enter__(self) -> RayEngine:
        try:
            import ray
        except ImportError:
            raise RuntimeError("--engine ray needs Ray: pip install -r requirements-dist.txt") from None
        site = site_resources(os.environ.get("KIT_RAY_RESOURCES"))  # a bad site file fails before connecting
        self._owned = not ray.is_initialized()  # a process already connected (a notebook, the tests) stays so
        if self._owned:
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            log.info("connecting to Ray at %s", address or "a new local cluster")
            ray.init(address=address, log_to_driver=False)
        # Every task sees the driver's KIT_HOME and settings as they are now (not as they were when Ray started).
        self.runtime_env = {"env_vars": forwarded_env()}
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        node_cpus = int(max((n.get("CPU", 0) for n in nodes), default=1))
        node_gpus = max((n.get("GPU", 0) for n in nodes), default=0)
        self.options = resources(node_cpus, node_gpus, site)
        log.info("Ray: %d node(s); resources per node kind: %s", len(nodes), self.options)
        # The driver names eval passes by the thread count the eval tasks will have (kit.eval.phase.eval_key).
        self._saved_cpus = os.environ.get("KIT_CPUS")
        os.environ["KIT_CPUS"] = str(_cpus(self.options["eval"]))
        return self

    def __exit__(self, *exc) -> None:
        import ray

        if self._saved_cpus is None:
            os.environ.pop("KIT_CPUS", None)
        else:
            os.environ["KIT_CPUS"] = self._saved_cpus
        if self._owned:
            ray.shutdown()

    def hardware(self, recipe: Recipe) -> env.Hardware:
        """The backend and dtype a training worker of this cluster chooses for ``recipe`` (asked once per setting)."""
        import ray

        t = recipe.train
        key = (t.backend, t.dtype, t.quantization)
        if key not in self._hardware:
            probe = ray.remote(env.for_training).options(
                **self.options["stage"], runtime_env=self.runtime_env, name="kit: which hardware trains"
            )
            self._hardware[key] = ray.get(probe.remote(t))
            hw = self._hardware[key]
            log.info("training workers: %s on %s, %s (%s)", hw.backend, hw.device_name, hw.dtype, hw.reason)
        return self._hardware[key]

    def execute(self, sweep) -> None:
        """Every node of ``sweep`` (kit.sweep.Sweep) not built yet, each as a Ray task once its dependencies are
        built; a cached eval node only assembles its runs' summaries, here."""
        import ray
        from ray.exceptions import RayError, RayTaskError

        task = ray.remote(_run_task)
        pending: dict = {}
        while sweep.unfinished():
            for node in sweep.ready():
                if sweep.start(node):
                    options = {**self.options[node.kind], "max_retries": self.max_retries, "retry_exceptions": False}
                    options["runtime_env"] = self.runtime_env
                    pending[task.options(**options, name=f"kit {node.kind}: {node.label}").remote(node)] = node
                else:
                    sweep.run_here(node)
            if not pending:
                if not sweep.ready():
                    return
                continue
            [ref], _ = ray.wait(list(pending), num_returns=1)
            node = pending.pop(ref)
            try:
                result, seconds = ray.get(ref)
            except RayTaskError as exc:  # the kit's own error, raised in the task: that node fails
                sweep.fail(node, exc.cause if isinstance(exc.cause, BaseException) else exc)
            except RayError as exc:  # its worker or node died more often than max_retries allows
                sweep.fail(node, RuntimeError(f"{type(exc).__name__} after {self.max_retries} retries: {exc}"))
            else:
                sweep.finish(node, result, seconds)


def _cpus(options: dict) -> int:
    return max(1, int(options.get("num_cpus", 1)))


def _run_task(node: dag.Node) -> tuple[object, float]:
    """One node, in a Ray worker: its thread count and GPUs are what Ray assigned it (Ray leaves a task without a GPU
    seeing every GPU, and sets one OpenMP thread where it was given no CPU count)."""
    import ray

    cpus = max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1)))
    os.environ["KIT_CPUS"] = os.environ["OMP_NUM_THREADS"] = str(cpus)
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in ray.get_gpu_ids())
    _crash_once(node)
    started = time.perf_counter()
    result = dag.run_node(node)
    return result, round(time.perf_counter() - started, 2)


def _crash_once(node: dag.Node) -> None:
    """``KIT_TEST_CRASH_ONCE=<kind>:<folder>``: the first attempt of each task of that kind dies as a killed worker
    would (the retry test's fault; unset, nothing happens)."""
    spec = os.environ.get(CRASH_ONCE)
    if not spec:
        return
    kind, _, folder = spec.partition(":")
    marker = Path(folder) / runs.content_hash(node.id)
    if kind == node.kind and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"node": node.id, "pid": os.getpid()}))
        os._exit(1)
