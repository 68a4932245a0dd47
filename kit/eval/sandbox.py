"""Runs untrusted, model-generated Python in a subprocess and says whether it ran clean: the code sandbox.

``run_program(source)`` writes the program into a fresh temporary directory and runs it there with
``python -I -B`` (kit.eval.sandbox_child sets up the rlimits and guards, then runs it) in its own session, inside
fresh Linux namespaces when this machine allows them. The isolation level (``isolation()``, probed once per
process) is an input of every code score: it keys the code tasks' cached results and is recorded with each item.

``namespaces-bwrap`` (bubblewrap) or, without it, ``namespaces-unshare`` (util-linux unshare, chroot, setpriv):
the child runs in its own user, mount, PID, network, IPC and UTS namespaces, with no capabilities, and sees
- read-only: /usr, the interpreter's prefix (its stdlib), the venv (the site-packages the programs may import),
  the dynamic loader's cache, the local time zone and the child script; nothing else of the host's filesystem:
  no home directory, no /etc beyond those, no repository, no other temp dirs;
- writable: only its temp dir (at the same path) and a private, empty /tmp, both thrown away afterwards;
- a private /proc (its own processes only), a minimal /dev, and no network device but its own loopback;
- a PID namespace whose init takes every descendant with it when the program ends or is killed (a forked,
  setsid'ed child does not outlive it).
So a program that undoes the guards below (reloading os, posix.*, _io.FileIO, ctypes, a shell) still cannot
write, delete or rename a file of the user's, read one, reach a server on the host's 127.0.0.1, or leave a
process behind.

``guards-only``, where namespaces are not available (some containers forbid them; bwrap and unshare missing):
a loud warning once per process, and only the layer below, which is also kept as the second layer above.

In every level:
- endless loops (wall-clock timeout, then the whole process group is killed; RLIMIT_CPU as a backstop);
- runaway memory (RLIMIT_AS -> MemoryError in the child, the parent is untouched);
- floods of output (stdout/stderr go to files capped by RLIMIT_FSIZE; the parent reads at most
  ``max_output_bytes``);
- Python-level guards against honest mistakes: os.fork/posix.fork/exec*/posix_spawn/subprocess.Popen raise,
  ctypes and _posixsubprocess do not import (RLIMIT_NPROC as well when not running as root); os.remove/unlink/
  rename/rmdir/chmod..., open() for writing outside the temp dir raise; shutil.rmtree and shutil.move are
  disabled; os.kill/killpg are disabled; socket creation raises. These are monkeypatches in the program's own
  process: any program that means to can undo them (the tests do), which is why the namespaces matter;
- a program that exits early with status 0 (sys.exit, os._exit) before its tests ran: a random token is
  written only after the program's last line, and passing requires it.

What it does NOT protect against, even with namespaces: kernel exploits (the program makes ordinary system
calls; there is no seccomp filter), CPU and cache side channels, filling the disk or memory of the temp dir's
file system up to RLIMIT_FSIZE per file, using the CPU for the length of the timeout, and reading what the
read-only view shows (the interpreter and the venv). Without namespaces (guards-only) the program can read
every file the user can and, with a little effort, write or delete them. Run evaluations in a container or VM
when that matters. Linux only (RLIMIT_AS, /proc, namespaces).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
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
# Best first; run_program uses the best one this machine allows (see isolation()).
ISOLATION_LEVELS = ("namespaces-bwrap", "namespaces-unshare", "guards-only")
NAMESPACE_TOOLS = {"namespaces-bwrap": "bwrap", "namespaces-unshare": "unshare"}
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxResult:
    """``status`` is one of STATUSES; ``error`` means the harness failed, not the program."""

    status: str
    detail: str
    duration_s: float
    stdout: str = ""
    isolation: str = "guards-only"

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
    program: str,
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
    max_output_bytes: int = 1 << 20,
    isolation_level: str | None = None,
) -> SandboxResult:
    """Run ``program`` in a subprocess; it passes when it runs to its end and exits with status 0.

    ``isolation_level`` (one of ISOLATION_LEVELS) defaults to the best this machine allows; naming a level
    is for measuring one against another."""
    if not timeout_s > 0 or not memory_mb > 0 or not max_output_bytes > 0:
        raise ValueError("timeout_s, memory_mb and max_output_bytes must be positive")
    level = isolation_level or isolation()
    start = time.monotonic()
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="kit-sandbox-", ignore_cleanup_errors=True) as tmp:
        root = os.path.realpath(tmp)
        Path(root, PROGRAM_NAME).write_text(program, encoding="utf-8")
        try:
            returncode = _execute(root, token, timeout_s, memory_mb, max(MIN_FILE_BYTES, max_output_bytes), level)
        except OSError as exc:
            return SandboxResult("error", f"could not start the sandbox: {exc}", time.monotonic() - start)
        stdout = _clean(_read_head(Path(root, "stdout"), max_output_bytes), root)
        stderr = _clean(_read_tail(Path(root, "stderr"), max_output_bytes), root)
        marker = _read_head(Path(root, MARKER_NAME), 4096)
    status, detail = _judge(returncode, marker, token, stderr, timeout_s)
    return SandboxResult(status, detail, round(time.monotonic() - start, 3), stdout, level)


def _execute(root: str, token: str, timeout_s: float, memory_mb: int, file_bytes: int, level: str) -> int | None:
    """The child's exit code (negative: killed by that signal), or None when it hit the wall-clock timeout."""
    cpu_s = math.ceil(timeout_s) + 1
    command = [sys.executable, "-I", "-B", CHILD, os.path.join(root, PROGRAM_NAME), os.path.join(root, MARKER_NAME)]
    command += [token, str(memory_mb), str(cpu_s), str(file_bytes)]
    # Files, not pipes: nothing to drain, and RLIMIT_FSIZE bounds them.
    with open(os.path.join(root, "stdout"), "wb") as out, open(os.path.join(root, "stderr"), "wb") as err:
        # The limits are set by the child itself, not in a preexec_fn, which can deadlock in a threaded parent.
        proc = subprocess.Popen(
            namespace_prefix(level, root) + command,
            cwd=root,
            env=_child_env(root),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            returncode = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        finally:
            _kill_group(proc)
    # bwrap and unshare exit with 128 + N when the program died of signal N (as a shell does).
    return -(returncode - 128) if level != "guards-only" and returncode > 128 else returncode


# --- isolation: Linux namespaces around the child, when this machine allows them -----------------------------


def isolation() -> str:
    """The best of ISOLATION_LEVELS that works here, probed once per process: an input of every code score
    (the code tasks' ``cache_identity``) and recorded with each. Falling back to guards only is logged as a
    warning, never silent."""
    level = working_levels()[0]
    if level == "guards-only":
        _warn_guards_only()
    return level


@functools.cache
def working_levels() -> tuple[str, ...]:
    """Every level of ISOLATION_LEVELS that works on this machine, best first (guards-only always does)."""
    namespaces = [level for level, tool in NAMESPACE_TOOLS.items() if shutil.which(tool) and _namespace_works(level)]
    return (*namespaces, "guards-only")


@functools.cache
def _warn_guards_only() -> None:
    log.warning(
        "kit sandbox: Linux namespaces are not available here (no working bwrap or unshare), so generated code "
        "runs with in-process guards only: it can read every file you can and, with little effort, write or "
        "delete them. To contain it, %s, or run evaluations in a container or VM.",
        INSTALL_HINT,
    )


def _namespace_works(level: str) -> bool:
    """A trivial program started through the tool: some containers forbid namespaces, which only shows here."""
    with tempfile.TemporaryDirectory(prefix="kit-sandbox-probe-") as tmp:
        root = os.path.realpath(tmp)
        try:
            done = subprocess.run(
                namespace_prefix(level, root) + [sys.executable, "-I", "-c", "pass"],
                cwd=root,
                env=_child_env(root),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
    if done.returncode != 0:
        log.info("kit sandbox: %s does not work here: %s", level, done.stderr.decode(errors="replace").strip())
    return done.returncode == 0


def namespace_prefix(level: str, root: str) -> list[str]:
    """The command that starts the child in fresh namespaces, seeing only ``readonly_paths()`` and ``root``."""
    if level == "namespaces-bwrap":
        return _bwrap(root)
    if level == "namespaces-unshare":
        return _unshare(root)
    if level == "guards-only":
        return []
    raise ValueError(f"unknown sandbox isolation level {level!r}; valid: {', '.join(ISOLATION_LEVELS)}")


def _bwrap(root: str) -> list[str]:
    # --cap-drop ALL: root inside the user namespace could otherwise remount the read-only binds writable.
    command = ["bwrap", "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    command += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    command += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for link, target in _root_symlinks():
        command += ["--symlink", target, link]
    for path in readonly_paths():
        command += ["--ro-bind", path, path]
    return command + ["--bind", root, root, "--chdir", root, "--"]


# Run by sh as root of a fresh user namespace (pid 1 of a fresh PID namespace): builds a root of read-only binds
# on a tmpfs inside the sandbox dir, chroots into it and runs the child without any capability. The child is not
# pid 1 (which the kernel spares from default-action signals such as RLIMIT_CPU's SIGXCPU); when sh exits, the
# kernel kills whatever else is left in the namespace. Few processes (mkdir, touch and cp once each, one mount per
# path): each costs about a millisecond. Paths with blanks are not supported here (bwrap has no such limit).
UNSHARE_SETUP = r"""set -eu; PATH=/usr/sbin:/sbin:/usr/bin:/bin
root=$1; shift; new=$root/.kit-root; dirs=; files=; links=
for arg; do
  [ "$arg" = -- ] && break
  case $arg in
    ro=*) p=${arg#ro=}
      if [ -d "$p" ]; then dirs="$dirs $new$p"; else files="$files $new$p"; dirs="$dirs $new${p%/*}"; fi;;
    ln=*) links="$links ${arg#ln=}";;
  esac
done
mkdir "$new"; mount -t tmpfs -o mode=755 kit-root "$new"
# /tmp first: the interpreter or the venv may live under it.
mkdir "$new/tmp"; mount -t tmpfs -o mode=1777,nosuid,nodev kit-tmp "$new/tmp"
mkdir -p $dirs "$new/proc" "$new/dev"
touch $files "$new/dev/null" "$new/dev/zero" "$new/dev/full" "$new/dev/random" "$new/dev/urandom"
[ -z "$links" ] || cp -P $links "$new/"
while [ "$1" != -- ]; do
  case $1 in ro=*) mount -o bind,ro,nosuid,nodev "${1#ro=}" "$new${1#ro=}";; esac; shift
done
shift
mount -t proc -o nosuid,nodev,noexec proc "$new/proc"
for d in null zero full random urandom; do mount --bind "/dev/$d" "$new/dev/$d"; done
mkdir -p "$new$root"; mount -o bind,nosuid,nodev "$root" "$new$root"
chroot "$new" /usr/bin/setpriv --bounding-set=-all --inh-caps=-all --no-new-privs /usr/bin/env -C "$root" "$@"
"""


def _unshare(root: str) -> list[str]:
    command = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child"]
    command += ["--net", "--ipc", "--uts", "--propagation", "private", "sh", "-c", UNSHARE_SETUP, "sh", root]
    command += [f"ln={link}" for link, _ in _root_symlinks()]
    return command + [f"ro={path}" for path in readonly_paths()] + ["--"]


def _root_symlinks() -> list[tuple[str, str]]:
    """/bin, /lib... of a merged-/usr system are symlinks into /usr: recreated as such."""
    names = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
    return [(name, os.readlink(name)) for name in names if os.path.islink(name)]


@functools.cache
def readonly_paths() -> tuple[str, ...]:
    """What the child needs and nothing more: /usr, the interpreter and its stdlib and site-packages (with the
    venv's), the dynamic loader's cache, the local time zone and the child script."""
    paths = ["/usr", sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable)), CHILD]
    paths += [p for p in sysconfig.get_paths().values()]
    paths += [p for p in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32") if not os.path.islink(p)]
    paths += ["/etc/ld.so.cache", "/etc/localtime"]
    real = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})
    # A path inside another one on the list is already visible.
    return tuple(p for p in real if not any(p.startswith(q.rstrip("/") + "/") for q in real if q != p))


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
