"""Claims with a lease: who (host and pid) is writing something in a KIT_HOME that several hosts share.

kit.runs.locked holds a claim file for each phase it builds, and kit.runs.staging names its scratch folders by their
writer; both keep a heartbeat (a refreshed mtime) while in use. Another process treats a claim or scratch folder as
abandoned only when its writer is provably gone: on this host, its pid is dead; on any host, its heartbeat is older
than the lease (``KIT_CLAIM_LEASE_S``). Ages are read on the file server's clock (``server_now``), so clock skew
between hosts does not make a live writer look dead.

What this does not protect against: a writer frozen for longer than the lease (SIGSTOP, a suspended VM, the GIL held
by C code) looks dead and its work may be taken over while it can still wake and write; and the lease must exceed the
heartbeat interval (lease/3) plus how stale another host's view of an mtime may be (NFS attribute caching, 60 s by
default for files; a claim is opened, not stat'ed, so close-to-open consistency refreshes it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 120.0
POLL_S = 1.0  # how often a waiter looks again at a claim held on another host (tests make it small)


def lease_s() -> float:
    """How long a claim or scratch folder whose heartbeat stopped stays its writer's (``KIT_CLAIM_LEASE_S``)."""
    return float(os.environ.get("KIT_CLAIM_LEASE_S") or DEFAULT_LEASE_S)


def host() -> str:
    """This host's name as claims and scratch-folder names hold it (a name may not hold every character)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"


def owner() -> str:
    """``<host>-<pid>``: the writer a scratch folder's name records, so that others can tell whether it is alive."""
    return f"{host()}-{os.getpid()}"


def pid_alive(pid: int) -> bool:
    """Whether a process of this host still runs. A zombie (killed, not yet reaped by its parent) counts as dead: it
    will never write again, and a container's init may never reap it."""
    if pid <= 0:
        return True  # not a pid a writer could have; os.kill would signal a process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): os.kill is all there is to ask
    return stat.rpartition(")")[2].split()[0] != "Z"


def server_now(folder: Path) -> float:
    """The time as the file server stamps mtimes in ``folder``: the mtime of a file just made there. On NFS and
    Lustre the server sets it, so an age measured against this, not this host's time.time(), is immune to clock
    skew between hosts."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".now.", suffix=".tmp")
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)
        os.unlink(name)


def writer_gone(path: Path, writer_host: str | None, pid: int | None, lease: float | None = None) -> bool:
    """Whether the writer of ``path`` (a claim file or a scratch folder) will never touch it again: on this host its
    process is dead, or on any host its heartbeat is older than the lease. A path already gone has no writer to
    protect (False: nothing to remove)."""
    if writer_host == host() and pid is not None and not pid_alive(pid):
        return path.exists()
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return False
    return server_now(path.parent) - mtime > (lease or lease_s())


@contextmanager
def heartbeat(path: Path, still_mine: Callable[[], bool] = lambda: True) -> Iterator[None]:
    """Refreshes ``path``'s mtime every lease/3 from a daemon thread while the block runs, so that other hosts see
    its writer alive. ``still_mine`` stops it once the path is someone else's (a claim broken after a long freeze)."""
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(path, stop, lease_s() / 3, still_mine), daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()


def _beat(path: Path, stop: threading.Event, every: float, still_mine: Callable[[], bool]) -> None:
    while not stop.wait(every):
        if not still_mine():
            log.warning("%s is no longer ours (its lease ran out and another process took it over)", path)
            return
        try:
            os.utime(path)  # no times given: NFS sets the server's time
        except FileNotFoundError:
            return


@contextmanager
def claimed(path: Path, phase: Path) -> Iterator[None]:
    """Holds the claim file ``path`` on ``phase`` while the block runs, waiting for a live holder on any host and
    breaking a dead one's claim. On exit (also by an exception) the claim is removed if it is still ours."""
    token = uuid.uuid4().hex
    _take(path, phase, token)
    try:
        with heartbeat(path, lambda: _token(path) == token):
            yield
    finally:
        _release(path, token)


def _take(path: Path, phase: Path, token: str) -> None:
    info = {"host": host(), "pid": os.getpid(), "token": token, "phase": str(phase)}
    info |= {"acquired_at": time.time(), "lease_s": lease_s()}
    announced = None
    while not _create(path, info):
        held = _look(path)
        if held is None:
            continue  # released between our try and our look
        if writer_gone(path, *_writer(held)):
            if not _break(path, held, phase):
                time.sleep(POLL_S)  # another process is breaking it
            continue
        if announced != (held.get("host"), held.get("pid")):
            announced = held.get("host"), held.get("pid")
            log.info("waiting for %s pid %s to finish %s", *announced, phase)
        time.sleep(POLL_S)


def _create(path: Path, info: dict) -> bool:
    """Creates the claim file if there is none: O_CREAT|O_EXCL is atomic on a local disk and on NFSv3+ and Lustre."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    return True


def _look(path: Path) -> dict | None:
    """A claim's content, or None if there is none. Opening it also makes an NFS client fetch its attributes afresh
    (close-to-open), so the mtime writer_gone reads next is the server's. A claim still being written (or torn) reads
    as {}: judged by its mtime alone."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        held = json.loads(text)
    except ValueError:
        held = {}
    return held if isinstance(held, dict) else {}


def _token(path: Path) -> str | None:
    held = _look(path)
    return None if held is None else held.get("token")


def _writer(held: dict) -> tuple[str | None, int | None, float | None]:
    """A claim's holder as writer_gone takes it: host, pid and the lease it beats for (every lease/3 of its own)."""
    pid = held["pid"] if isinstance(held.get("pid"), int) else None
    lease = float(held["lease_s"]) if isinstance(held.get("lease_s"), int | float) else None
    return held.get("host"), pid, lease


def _release(path: Path, token: str) -> None:
    """Removes our claim, unless it was broken while we were frozen and is now another holder's."""
    if _token(path) == token:
        path.unlink(missing_ok=True)


def _break(path: Path, held: dict, phase: Path) -> bool:
    """Removes the abandoned claim ``held``, such that its breakers cannot take turns removing each other's new
    claims: breakers of one claim (by its token) pass one at a time through a ``.break`` file made with O_EXCL, and
    the one inside removes the claim only if it is still that claim and still abandoned. False for the others. A
    ``.break`` file left by a breaker killed in that instant is removed once older than the lease."""
    breaker = path.with_name(f"{path.name}.{held.get('token')}.break")
    if not _create(breaker, {"host": host(), "pid": os.getpid()}):
        if writer_gone(breaker, None, None):
            breaker.unlink(missing_ok=True)
        return False
    try:
        now = _look(path)
        if now is None or now.get("token") != held.get("token") or not writer_gone(path, *_writer(held)):
            return False
        log.warning("breaking the abandoned claim of %s pid %s on %s", held.get("host"), held.get("pid"), phase)
        path.unlink()
        return True
    finally:
        breaker.unlink(missing_ok=True)
