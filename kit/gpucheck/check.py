"""The two entry points: ``prepare`` (a CPU machine with PyPI) and ``run`` (the GPU machine, offline)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kit.gpucheck import carry
from kit.gpucheck.runner import REPO, copy_out, finish_phase, log, python_cmd, record, run_phase
from kit.runs import read_json, write_json

TOTAL_BUDGET_S = 510  # the device tool's 540 s timeout, less the wheel install and a margin
# (phase, seconds it may take at most, the file its result lands in); the llama.cpp build runs beside them from
# the start, and "llama-build" waits for what is left of it. Most valuable first: a cut-off check keeps those.
PHASES = [
    ("env", 60, "env.json"),
    ("models", 90, "models.json"),
    ("train-unsloth", 180, "train-7b.json"),
    ("train-hf", 110, "train-7b.json"),
    ("llama-build", 240, "llama-build.json"),
    ("chain-4layer", 110, "chain-4layer.json"),
    ("adapter-gap", 50, "adapter-gap.json"),
]
DRY_PHASES = ("env", "models", "train-hf", "chain-4layer", "adapter-gap")
RESULT_FILES = sorted({f for _, _, f in PHASES} | {"run.log"})  # <= 8: what the device tool brings back
CMAKE_ARGS = "-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF"


# --- prepare -----------------------------------------------------------------------------------------------


def prepare(data_root: Path, dry_run: bool = True) -> dict:
    folder = REPO / carry.CARRY_DIR
    folder.mkdir(exist_ok=True)
    steps = {
        "wheels": lambda: carry.prepare_wheels(folder / "wheels", carry.downloads_dir()),
        "sdist": lambda: carry.prepare_sdist(folder),
        "converter": lambda: carry.prepare_converter(folder),
        "tokenizer": lambda: carry.prepare_tokenizer(folder / "tokenizer", data_root),
    }
    manifest: dict = {}
    for name, step in steps.items():
        print(f"== {name}", flush=True)
        manifest[name] = step()
    from kit import env

    manifest["git_commit"] = env.git_commit()
    manifest["carried"] = carry.CARRIED
    write_json(folder / "manifest.json", manifest)
    report = carry.size_report(folder)
    print("== carried size (.gpu-check/)\n" + carry.format_size_report(report), flush=True)
    if not report["ok"]:
        raise carry.CarryError(
            f".gpu-check/ is {report['total_bytes'] / 2**20:.1f} MiB, over {carry.CARRY_LIMIT_MIB} MiB"
        )
    if dry_run:
        dry(folder)
    return report


def dry(folder: Path) -> None:
    """The CPU parts: the wheels install offline into a --target folder and import; the 7B config has Llama-2-7B's
    parameter count; and the check's own phases run on a tiny model (CPU, hf backend) through the same runner."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("== dry run: offline install of the carried wheels", flush=True)
        print(install_wheels(folder / "wheels", tmp / "site"), flush=True)
        # unsloth and unsloth_zoo refuse to import without a GPU; the rest must load from the folder, at its
        # versions (datasets needs multiprocess, whose wheel is for 3.12 only: checked where this is 3.12)
        names = ["trl", "peft", "tyro", "gguf", "diskcache", "dill", "bitsandbytes"]
        names += ["datasets", "multiprocess"] if sys.version_info[:2] == (3, 12) else []
        code = f"import {', '.join(names)}; print(*[f'{{m.__name__}} {{m.__file__}}' for m in [{', '.join(names)}]])"
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONPATH": str(tmp / "site")},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise carry.CarryError(f"the carried wheels do not import:\n{done.stderr[-2000:]}")
        print(f"   imports from the --target folder: ok ({done.stdout.strip()})", flush=True)
        print(f"== dry run: 7B parameter count {seven_b_params():,} (Llama-2-7B: 6,738,415,616)", flush=True)
        print("== dry run: the phases on a tiny model (cpu, hf backend)", flush=True)
        results = tmp / "results"
        summary = run(profile="dry", results=results, work=tmp / "work", kit_home=tmp / "kit_home", budget_s=900)
        failed = {k: v for k, v in summary.items() if v.get("error")}
        if failed:
            raise carry.CarryError(f"dry run phases failed: {failed}")
        print("== dry run: every phase passed", flush=True)


def install_wheels(wheels: Path, target: Path) -> str:
    """What `make gpu-check` does first: the carried wheels, offline, into a --target folder; on a host that is not
    Python 3.12 pip is told the GPU machine's tags (multiprocess ships one wheel per Python version)."""
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--no-cache-dir"]
    if sys.version_info[:2] != (3, 12):
        cmd += [a for a in carry.PIP_TARGET if a != "--no-deps"]
    cmd += ["--upgrade", "--target", str(target), *map(str, sorted(wheels.glob("*.whl")))]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise carry.CarryError(f"the carried wheels do not install offline:\n{done.stderr[-2000:]}")
    return f"   installed {len(list(wheels.glob('*.whl')))} wheels into {target} (python 3.12 tags)"


def seven_b_params() -> int:
    import torch
    from transformers import LlamaForCausalLM

    from kit.gpucheck.phases import PROFILES, llama_config

    with torch.device("meta"):
        model = LlamaForCausalLM(llama_config(PROFILES["gpu"], 32))
    return sum(t.numel() for t in model.parameters())


# --- run -------------------------------------------------------------------------------------------------


def run(
    profile: str = "gpu",
    results: Path | None = None,
    work: Path | None = None,
    kit_home: Path | None = None,
    budget_s: float = TOTAL_BUDGET_S,
) -> dict:
    """Every phase in order, each time-boxed by its budget and by what is left of ``budget_s``."""
    from kit.env import cuda_available

    if profile == "gpu" and not cuda_available():  # the 7B would be made in fp32 on the CPU: 27 GB
        raise SystemExit("make gpu-check needs a CUDA GPU; on a CPU, `make gpu-check-prepare` dry-runs the phases")
    t0 = float(os.environ.setdefault("GPU_CHECK_T0", str(time.time())))
    deadline = t0 + budget_s
    results = results or REPO / "results" / "gpu-check"
    work = work or Path(tempfile.gettempdir()) / "gpu-check"
    kit_home = kit_home or work / "kit_home"
    results.mkdir(parents=True, exist_ok=True)
    runlog = results / "run.log"
    runlog.unlink(missing_ok=True)
    _link_converter(kit_home)
    child_env = {
        **os.environ,
        "GPU_CHECK_PROFILE": profile,
        "GPU_CHECK_RESULTS": str(results),
        "GPU_CHECK_WORK": str(work),
        "KIT_HOME": str(kit_home),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        "GPU_CHECK_RUNLOG": str(runlog),  # the phases' progress lines land there too
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    for name in {f for _, _, f in PHASES}:
        (results / name).unlink(missing_ok=True)
    build = start_llama_build(work, child_env) if profile == "gpu" else None
    summary = {}
    for name, budget, filename in PHASES:
        if profile == "dry" and name not in DRY_PHASES:
            continue
        left = deadline - time.time() - 5
        shared = filename == "train-7b.json"  # both backends' rows, each backend's status under phases
        on_error, slot = (_failed_rows(name, profile), name) if shared else (None, None)
        if left < 15:
            skipped = {"returncode": None, "timed_out": False, "seconds": 0.0, "output_tail": ""}
            skipped["skipped"] = f"not started: {max(0, left):.0f} s of the {budget_s:.0f} s budget left"
            summary[name] = finish_phase(results / filename, skipped, on_error, slot=slot)
        elif name == "llama-build":
            log(f"{name}: waiting (at most {min(budget, left):.0f} s)", runlog)
            summary[name] = finish_build(build, min(budget, left), results / filename, child_env)
        else:
            log(f"{name}: starting (at most {min(budget, left):.0f} s)", runlog)
            outcome = run_phase(python_cmd("phase", name), min(budget, left), work / "logs" / f"{name}.log", child_env)
            summary[name] = finish_phase(results / filename, outcome, on_error, slot=slot)
        log(f"{name}: {'FAILED: ' + summary[name]['error'] if summary[name].get('error') else 'done'}", runlog)
        copy_out(results, RESULT_FILES)
    if build is not None and build["proc"].poll() is None:
        _stop(build["proc"])
    log(f"all phases done in {time.time() - t0:.0f} s; results in {results}", runlog)
    copy_out(results, RESULT_FILES)
    return summary


def _link_converter(kit_home: Path) -> None:
    """KIT_HOME/llama.cpp -> the carried converter, so kit.export.gguf.converter_script() finds it offline."""
    kit_home.mkdir(parents=True, exist_ok=True)
    link = kit_home / "llama.cpp"
    if not link.exists():
        link.symlink_to(REPO / carry.CARRY_DIR / "llama.cpp", target_is_directory=True)


def _failed_rows(name: str, profile: str):
    """For a training phase that died: a failed row for every batch size it did not get to."""
    from kit.gpucheck.phases import PROFILES

    backend = name.removeprefix("train-")

    def add(payload: dict, why: str) -> None:
        p = PROFILES[profile]
        have = {(r["backend"], r["batch_size"]) for r in payload.get("rows", [])}
        for batch_size in p.steps[backend]:
            if (backend, batch_size) not in have:
                error = f"{name} {why}; last output: {payload['phases'][name]['output_tail'][-600:]}"
                payload.setdefault("rows", []).append(
                    {"backend": backend, "batch_size": batch_size, "seq_len": p.seq_len, "error": error}
                )

    return add


# --- the llama-cpp-python CUDA build beside the phases ------------------------------------------------------------


def start_llama_build(work: Path, env: dict) -> dict:
    """pip wheel of the carried (trimmed) sdist for sm_90, niced so that training keeps its CPU share."""
    sdist = REPO / carry.CARRY_DIR / f"llama_cpp_python-{carry.LLAMA_CPP_VERSION}.tar.gz"
    out = work / "llama-wheel"
    out.mkdir(parents=True, exist_ok=True)
    logfile = work / "logs" / "llama-build.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["nice", "-n", "10", sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    cmd += ["--no-cache-dir", "-w", str(out), str(sdist)]
    build_env = {**env, "CMAKE_ARGS": CMAKE_ARGS}
    proc = subprocess.Popen(
        cmd, stdout=open(logfile, "w"), stderr=subprocess.STDOUT, env=build_env, start_new_session=True
    )
    log(f"llama-cpp-python CUDA build started ({CMAKE_ARGS})")
    return {"proc": proc, "start": time.time(), "out": out, "log": logfile}


def finish_build(build: dict, wait_s: float, path: Path, env: dict) -> dict:
    proc = build["proc"]
    try:
        proc.wait(timeout=max(1.0, wait_s))
    except subprocess.TimeoutExpired:
        pass
    result: dict = {"cmake_args": CMAKE_ARGS, "build_seconds": round(time.time() - build["start"], 1)}
    result["log_tail"] = "\n".join(build["log"].read_text(errors="replace").splitlines()[-30:])
    wheels = sorted(build["out"].glob("llama_cpp_python-*.whl"))
    if proc.poll() is None:
        result["error"] = f"still building after {result['build_seconds']} s"
        _stop(proc)
    elif proc.returncode != 0 or not wheels:
        result["error"] = f"pip wheel exited {proc.returncode}"
    else:
        result["wheel_mib"] = round(wheels[0].stat().st_size / 2**20, 1)
        site = env.get("GPU_CHECK_SITE") or os.environ.get("PYTHONPATH", "").split(os.pathsep)[0]
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-cache-dir", "--upgrade"]
        done = subprocess.run([*cmd, "--target", site, str(wheels[0])], capture_output=True, text=True)
        code = "import llama_cpp; print(llama_cpp.__version__, llama_cpp.llama_supports_gpu_offload())"
        check = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        result["installed_into"] = site
        result["import"] = (check.stdout or check.stderr).strip()[-800:]
        result["gpu_offload"] = check.stdout.strip().endswith("True")  # False: a CPU-only build
        if done.returncode != 0 or check.returncode != 0:
            result["error"] = f"install or import failed: {done.stderr[-800:]}"
    return record(path, result)


def _stop(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the build and its compilers
    except ProcessLookupError:  # not a group leader
        proc.kill()
    proc.wait()


def read_summary(results: Path) -> dict:
    return {f: read_json(results / f) for f in RESULT_FILES if f.endswith(".json") and (results / f).is_file()}


def clean(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
