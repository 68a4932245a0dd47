"""Runs untrusted, model-generated Python in a subprocess and says whether it ran clean: the code sandbox.

``run_program(source)`` writes the program into a fresh temporary directory and runs it there with
``python -I -B`` (kit.eval.sandbox_child sets up the guards, then runs it) in its own session and process group.

What it protects against, i.e. honest mistakes of a model that writes code:
- endless loops (wall-clock timeout, then the whole process group is killed; RLIMIT_CPU as a backstop);
- runaway memory (RLIMIT_AS -> MemoryError in the child, the parent is untouched);
- floods of output (stdout/stderr go to files capped by RLIMIT_FSIZE; the parent reads at most
  ``max_output_bytes``);
- fork bombs and subprocesses (os.fork/posix.fork/exec*/posix_spawn/subprocess.Popen raise, ctypes and
  _posixsubprocess do not import; RLIMIT_NPROC as well when not running as root, since root ignores it;
  whatever is left in the process group is killed afterwards);
- stray deletes and writes (os.remove/unlink/rename/rmdir/chmod..., open() for writing outside the temp dir
  raise; shutil.rmtree and shutil.move are disabled), signalling other processes (os.kill/killpg disabled),
  network use (socket creation raises);
- a program that exits early with status 0 (sys.exit, os._exit) before its tests ran: a random token is
  written only after the program's last line, and passing requires it.

What it does NOT protect against: a determined attacker. The guards are Python monkeypatches in the same
process as the program (undone by e.g. reaching the originals through object introspection); there is no
seccomp filter, no namespaces, no chroot and no separate user, so the program can read any file the
user can and fill the disk within the temp dir. Run evaluations in a container or VM when that matters.
Linux only (RLIMIT_AS and /proc).
"""

from __future__ import annotations

import functools
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Bumped whenever a change could turn a pass into a fail or back; part of the code tasks' VERSION.
VERSION = "1"
TIMEOUT_SCALE_ENV = "KIT_SANDBOX_TIMEOUT_SCALE"
CHILD = str(Path(__file__).with_name("sandbox_child.py"))
PROGRAM_NAME = "program.py"
MARKER_NAME = ".kit-sandbox-marker"
# Per written file: enough for any test's own files, small enough that a print loop fails in a second.
MIN_FILE_BYTES = 16 << 20
DETAIL_LINES = 5
DETAIL_CHARS = 500
STATUSES = ("passed", "failed", "timeout", "error")


@dataclass(frozen=True)
class SandboxResult:
    """``status`` is one of STATUSES; ``error`` means the harness failed, not the program."""

    status: str
    detail: str
    duration_s: float
    stdout: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


# A pure-Python loop took about this long on the machine the timeouts were chosen on (2-core Xeon, busy).
CALIBRATION_REFERENCE_S = 0.2


def timeout_scale() -> float:
    """Factor for sandbox timeouts: ``$KIT_SANDBOX_TIMEOUT_SCALE`` if set, else this machine's speed against the
    reference (measured once per process, never below 1: slow or busy machines get more time), rounded up to a
    power of two so that it is stable from one process to the next: it is an input of every code score, part of
    the eval settings that key cached results (the code tasks' ``cache_identity``)."""
    raw = os.environ.get(TIMEOUT_SCALE_ENV, "").strip()
    if not raw:
        return _measured_scale()
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{TIMEOUT_SCALE_ENV} must be a positive number, got {raw!r}")
    return value


@functools.cache
def _measured_scale() -> float:
    best = math.inf
    for _ in range(3):  # the fastest of three: a one-off hiccup should not stretch every timeout
        start = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i % 7
        best = min(best, time.perf_counter() - start)
    return float(2 ** math.ceil(math.log2(max(1.0, best / CALIBRATION_REFERENCE_S))))


def run_program(
    program: str, *, timeout_s: float = 10.0, memory_mb: int = 1024, max_output_bytes: int = 1 << 20
) -> SandboxResult:
    """Run ``program`` in a subprocess; it passes when it runs to its end and exits with status 0."""
    if not timeout_s > 0 or not memory_mb > 0 or not max_output_bytes > 0:
        raise ValueError("timeout_s, memory_mb and max_output_bytes must be positive")
    start = time.monotonic()
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="kit-sandbox-", ignore_cleanup_errors=True) as tmp:
        root = os.path.realpath(tmp)
        Path(root, PROGRAM_NAME).write_text(program, encoding="utf-8")
        try:
            returncode = _execute(root, token, timeout_s, memory_mb, max(MIN_FILE_BYTES, max_output_bytes))
        except OSError as exc:
            return SandboxResult("error", f"could not start the sandbox: {exc}", time.monotonic() - start)
        stdout = _clean(_read_head(Path(root, "stdout"), max_output_bytes), root)
        stderr = _clean(_read_tail(Path(root, "stderr"), max_output_bytes), root)
        marker = _read_head(Path(root, MARKER_NAME), 4096)
    status, detail = _judge(returncode, marker, token, stderr, timeout_s)
    return SandboxResult(status, detail, round(time.monotonic() - start, 3), stdout)


def _execute(root: str, token: str, timeout_s: float, memory_mb: int, file_bytes: int) -> int | None:
    """The child's exit code (negative: killed by that signal), or None when it hit the wall-clock timeout."""
    cpu_s = math.ceil(timeout_s) + 1
    command = [sys.executable, "-I", "-B", CHILD, os.path.join(root, PROGRAM_NAME), os.path.join(root, MARKER_NAME)]
    command += [token, str(memory_mb), str(cpu_s), str(file_bytes)]
    # Files, not pipes: nothing to drain, and RLIMIT_FSIZE bounds them.
    with open(os.path.join(root, "stdout"), "wb") as out, open(os.path.join(root, "stderr"), "wb") as err:
        # The limits are set by the child itself, not in a preexec_fn, which can deadlock in a threaded parent.
        proc = subprocess.Popen(
            command,
            cwd=root,
            env=_child_env(root),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        finally:
            _kill_group(proc)


def _child_env(root: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": root, "TMPDIR": root, "OMP_NUM_THREADS": "1"}


def _kill_group(proc: subprocess.Popen) -> None:
    # The group outlives its leader while any member is alive, so this also reaches orphans of a finished child.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _judge(returncode: int | None, marker: str, token: str, stderr: str, timeout_s: float) -> tuple[str, str]:
    tail = _tail(stderr)
    if returncode is None:
        return "timeout", f"timed out after {timeout_s:g} s"
    if returncode == -signal.SIGXCPU:
        return "timeout", "CPU time limit exceeded"
    if not marker.startswith("started"):
        return "error", f"the sandbox failed before running the program (exit code {returncode}): {tail}"
    if returncode == 0 and token in marker:
        return "passed", ""
    if returncode == 0:
        return "failed", f"the program exited before its end (sys.exit or os._exit) {tail}".strip()
    if returncode < 0:
        return "failed", f"killed by {_signal_name(-returncode)} {tail}".strip()
    return "failed", tail or f"exit code {returncode}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    tail = "\n".join(lines[-DETAIL_LINES:])
    return tail if len(tail) <= DETAIL_CHARS else "..." + tail[-DETAIL_CHARS:]


def _read_head(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _read_tail(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - limit))
            return f.read(limit).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _clean(text: str, root: str) -> str:
    """Temp-dir and harness paths replaced, so the same failure gives the same detail on every run."""
    return text.replace(root, "<sandbox>").replace(CHILD, "<sandbox_child>")
