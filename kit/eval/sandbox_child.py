"""The child side of kit.eval.sandbox: limits and guards set up inside the subprocess, then the program.

Run only by ``kit.eval.sandbox.run_program`` as ``python -I -B sandbox_child.py PROGRAM MARKER TOKEN
MEMORY_MB CPU_S FILE_BYTES``; importing this module does nothing.
"""

from __future__ import annotations

import os
import sys

# Headroom over the user's current task count for RLIMIT_NPROC: threads count as tasks too.
THREAD_HEADROOM = 64
# Set on both os and posix. os.register_at_fork stays: random calls it at import, and fork is refused anyway.
DISABLED = (
    "fork",
    "forkpty",
    "system",
    "popen",
    "kill",
    "killpg",
    "setsid",
    "setpgid",
    "setpgrp",
    "setuid",
    "setgid",
    "seteuid",
    "setegid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "chroot",
    "fchmod",
    "fchown",
    "execv",
    "execve",
    "posix_spawn",
    "posix_spawnp",
    "plock",
)
PATH_GUARDED = (
    "remove",
    "unlink",
    "rmdir",
    "mkdir",
    "rename",
    "replace",
    "chmod",
    "chown",
    "lchown",
    "truncate",
    "utime",
    "link",
    "symlink",
    "mkfifo",
    "mknod",
)
# Refused at import: raw process creation, foreign-function calls and rlimit changes.
BLOCKED_MODULES = ("ctypes", "_ctypes", "_posixsubprocess", "resource", "psutil", "pty")


def set_limits(memory_mb: int, cpu_s: int, file_bytes: int) -> None:
    import resource

    limits = {
        resource.RLIMIT_AS: memory_mb * 1024 * 1024,
        resource.RLIMIT_CPU: cpu_s,
        resource.RLIMIT_FSIZE: file_bytes,
        resource.RLIMIT_CORE: 0,
    }
    # RLIMIT_NPROC binds no process of root (CAP_SYS_RESOURCE); the fork guards below cover that case.
    if os.geteuid() != 0 and os.path.isdir("/proc"):
        limits[resource.RLIMIT_NPROC] = user_task_count(os.getuid()) + THREAD_HEADROOM
    for which, value in limits.items():
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        # Soft == hard so the program cannot raise its own limits back up.
        resource.setrlimit(which, (value, value))


def user_task_count(uid: int) -> int:
    """Processes and threads of ``uid``: what RLIMIT_NPROC counts, user-wide."""
    count = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:  # the process ended while we looked
                pass
    return count


def refuse(name: str):
    def refused(*args, **kwargs):
        raise PermissionError(f"{name} is disabled in the kit sandbox")

    return refused


def inside(root: str, path) -> bool:
    if isinstance(path, int):  # an already-open descriptor was checked when it was opened
        return True
    real = os.path.realpath(os.fsdecode(os.fspath(path)))
    return real == root or real.startswith(root + os.sep)


def path_guarded(root: str, name: str, func):
    def guarded(*args, **kwargs):
        if any(kwargs.get(k) is not None for k in ("dir_fd", "src_dir_fd", "dst_dir_fd")):
            raise PermissionError(f"os.{name} with a dir_fd is disabled in the kit sandbox")
        for arg in (*args[:2], *(kwargs.get(k) for k in ("path", "src", "dst"))):
            if isinstance(arg, (str, bytes, os.PathLike)) and not inside(root, arg):
                raise PermissionError(f"os.{name} outside the sandbox directory is refused: {arg!r}")
        return func(*args, **kwargs)

    return guarded


def guard_open(root: str) -> None:
    import builtins
    import io

    real_open, real_os_open = builtins.open, os.open
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and not inside(root, file):
            raise PermissionError(f"writing outside the sandbox directory is refused: {file!r}")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & write_flags and (kwargs.get("dir_fd") is not None or not inside(root, path)):
            raise PermissionError(f"writing outside the sandbox directory is refused: {path!r}")
        return real_os_open(path, flags, *args, **kwargs)

    builtins.open = io.open = guarded_open
    os.open = guarded_os_open


def guard_processes_and_network() -> None:
    import posix
    import shutil
    import signal
    import socket
    import subprocess

    # posix holds the same functions as os; patching only os would leave ``posix.fork`` usable.
    for name in DISABLED:
        for module in (os, posix):
            if hasattr(module, name):
                setattr(module, name, refuse(f"os.{name}"))
    for name in ("rmtree", "move", "chown"):
        setattr(shutil, name, refuse(f"shutil.{name}"))
    if hasattr(signal, "pidfd_send_signal"):
        signal.pidfd_send_signal = refuse("signal.pidfd_send_signal")

    # Subclasses rather than plain functions so that stdlib modules which subclass these still import.
    class NoPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            raise PermissionError("subprocesses are disabled in the kit sandbox")

    class NoSocket(socket.socket):
        # Wrapping an existing descriptor stays allowed: socket.socketpair() does that, and asyncio needs it.
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            if fileno is None:
                raise PermissionError("network access is disabled in the kit sandbox")
            super().__init__(family, type, proto, fileno)

    subprocess.Popen = NoPopen
    # _socket.socket stays: socket.socket.__init__ calls it by that name (a raw _socket import gets round this).
    socket.socket = NoSocket
    socket.SocketType = NoSocket
    for name in ("create_connection", "create_server", "fromfd"):
        setattr(socket, name, refuse(f"socket.{name}"))


def guard(root: str) -> None:
    for name in PATH_GUARDED:
        if hasattr(os, name):
            setattr(os, name, path_guarded(root, name, getattr(os, name)))
    guard_open(root)
    guard_processes_and_network()
    for name in BLOCKED_MODULES:
        sys.modules[name] = None


def print_program_traceback(exc: BaseException, program: str) -> None:
    """The traceback from the program's first frame on, so the runner's own frames stay out of the detail."""
    import traceback

    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != program:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


def main(argv: list[str]) -> None:
    program, marker, token, memory_mb, cpu_s, file_bytes = argv
    import runpy

    set_limits(int(memory_mb), int(cpu_s), int(file_bytes))
    real_open = open
    guard(os.path.realpath(os.getcwd()))
    with real_open(marker, "w") as f:
        f.write("started\n")
    sys.argv = [program]
    try:
        runpy.run_path(program, run_name="__main__")
    except SystemExit:
        raise  # exits with the program's code, without the token: an early exit never passes
    except BaseException as exc:
        print_program_traceback(exc, program)
        sys.exit(1)
    # Only reached when the whole program, its tests included, ran to the end.
    with real_open(marker, "a") as f:
        f.write(token + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
