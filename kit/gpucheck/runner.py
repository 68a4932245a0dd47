"""Runs the check's phases one after another, each in its own process with a time box, and records each one's
result as it finishes: ``results/gpu-check/<phase>.json`` with provenance, copied to ``$OUT`` when that is set (the
device tool brings back what lies there). A phase that fails or runs out of time is recorded with its error and the
last lines of its output, and the next phase starts.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from kit.runs import read_json, write_json

REPO = Path(__file__).resolve().parents[2]
STDERR_LINES = 40


def log(msg: str, logfile: Path | None = None) -> None:
    """A progress line with the wall-clock time and the seconds since the check started, printed and appended to
    ``logfile`` (default: $GPU_CHECK_RUNLOG, the check's run.log)."""
    t0 = float(os.environ.get("GPU_CHECK_T0", time.time()))
    line = f"[{time.strftime('%H:%M:%S')} +{time.time() - t0:5.0f}s] {msg}"
    print(line, flush=True)
    logfile = logfile or (Path(os.environ["GPU_CHECK_RUNLOG"]) if os.environ.get("GPU_CHECK_RUNLOG") else None)
    if logfile is not None:
        with open(logfile, "a") as f:
            f.write(line + "\n")


def provenance(extra: dict | None = None) -> dict:
    """Where and from what a result was made; the GPU fields are empty on a machine without CUDA."""
    from kit import env

    out = {
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(),
        "python": platform.python_version(),
        "git_commit": env.git_commit() or _manifest().get("git_commit"),
        "packages": carried_versions(),
        "device": None,
        "torch": None,
        "cuda": None,
    }
    try:
        import torch

        out |= {"torch": torch.__version__, "cuda": torch.version.cuda, "device": _device_name(torch)}
    except ImportError:
        pass
    return out | (extra or {})


def _device_name(torch) -> str | None:
    """The GPU's name, without making a CUDA context in a process that has none (the runner would hold ~0.5 GB of
    VRAM through every phase)."""
    if torch.cuda.is_initialized():
        return torch.cuda.get_device_name(0)
    if shutil.which("nvidia-smi") is None:
        return None
    done = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else None


def carried_versions() -> dict[str, str | None]:
    import importlib.metadata

    from kit.env import PACKAGES
    from kit.gpucheck.carry import CARRIED

    out = {}
    for name in sorted({*PACKAGES, *CARRIED, "sentencepiece", "tokenizers", "safetensors"}):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _manifest() -> dict:
    path = REPO / ".gpu-check" / "manifest.json"
    return read_json(path) if path.is_file() else {}


def record(path: Path, payload: dict, wall_seconds: float | None = None) -> dict:
    """Write a phase's result with provenance (atomic, so a killed phase leaves its last complete write)."""
    prov = provenance({"wall_seconds": None if wall_seconds is None else round(wall_seconds, 1)})
    result = {"provenance": prov, **{k: v for k, v in payload.items() if k != "provenance"}}
    write_json(path, result)
    return result


def tail(text: str, n: int = STDERR_LINES) -> str:
    return "\n".join(text.splitlines()[-n:])


def run_phase(cmd: list[str], timeout_s: float, log_path: Path, env: dict | None = None) -> dict:
    """Run ``cmd`` in its own process group, killed with its children after ``timeout_s``; returns
    {returncode, timed_out, seconds, output_tail}. Output goes to ``log_path``."""
    start = time.time()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=REPO)
        timed_out = False
        try:
            proc.wait(timeout=max(1.0, timeout_s))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
    return {
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "seconds": round(time.time() - start, 1),
        "output_tail": tail(log_path.read_text(errors="replace")),
    }


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def finish_phase(
    result_path: Path, outcome: dict, on_error: Callable[[dict, str], None] | None = None, slot: str | None = None
) -> dict:
    """Fold a phase's outcome into its result file: the phase's own write when it ran to the end, else whatever it
    wrote so far plus ``error`` and the tail of its output (``on_error`` may add failed rows). Phases that share a
    file (the two training backends) keep their status under ``phases[slot]``; returns that status."""
    payload = read_json(result_path) if result_path.is_file() else {}
    status = {k: outcome[k] for k in ("returncode", "timed_out", "seconds")}
    if outcome.get("skipped"):
        status |= {"error": outcome["skipped"], "output_tail": ""}
    elif outcome["timed_out"] or outcome["returncode"] != 0:
        why = f"timed out after {outcome['seconds']} s" if outcome["timed_out"] else f"exit {outcome['returncode']}"
        status |= {"error": why, "output_tail": outcome["output_tail"]}
    if slot:
        payload.setdefault("phases", {})[slot] = status
    else:
        payload["phase"] = {k: status[k] for k in ("returncode", "timed_out", "seconds")}
        payload |= {k: status[k] for k in ("error", "output_tail") if k in status}
    if "error" in status and on_error is not None:
        on_error(payload, status["error"])
    record(result_path, payload, outcome["seconds"])
    return status


def copy_out(results: Path, names: list[str]) -> None:
    """Copy the named result files to $OUT (the device tool brings back 8 files at most)."""
    out = os.environ.get("OUT")
    if not out:
        return
    for name in names:
        if (results / name).is_file():
            shutil.copy(results / name, Path(out) / name)


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "kit.gpucheck", *args]


def dumps(obj: dict) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
