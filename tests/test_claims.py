"""A phase's claim (kit.claims, held by runs.locked) and its scratch folders (runs.staging) across hosts: a live
writer anywhere is waited on and left alone; a dead one's claim and folder are taken over, at once on this host."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kit import claims, runs
from tests.conftest import REPO

LEASE_S = 1.0


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """A KIT_HOME of its own, a one-second lease and a fast poll, so that waiting out a lease takes a second."""
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KIT_CLAIM_LEASE_S", str(LEASE_S))
    monkeypatch.setattr(claims, "POLL_S", 0.02)
    return tmp_path / "home"


def claim_path(phase: Path) -> Path:
    return runs.kit_home() / "locks" / f"{runs.lock_name(phase)}.claim"


def fake_claim(phase: Path, host: str = "elsewhere", pid: int = 4242, age_s: float = 0.0) -> Path:
    """A claim as another writer would leave it, its heartbeat ``age_s`` old."""
    path = claim_path(phase)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"host": host, "pid": pid, "token": "theirs", "phase": str(phase), "acquired_at": 0, "lease_s": LEASE_S}
    path.write_text(json.dumps(info))
    if age_s:
        os.utime(path, (time.time() - age_s, time.time() - age_s))
    return path


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def lock_in_thread(phase: Path) -> tuple[threading.Thread, threading.Event]:
    """Starts a thread that takes ``locked(phase)``; the event is set once it holds it."""
    entered = threading.Event()

    def take() -> None:
        with runs.locked(phase):
            entered.set()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return thread, entered


def test_a_live_claim_on_another_host_blocks_the_phase_until_its_holder_releases_it(tmp_path, caplog):
    phase = tmp_path / "train"
    held = fake_claim(phase)
    stop = threading.Event()

    def beat() -> None:  # its holder's heartbeat: alive for longer than the lease
        while not stop.wait(0.1):
            os.utime(held)

    beating = threading.Thread(target=beat)
    beating.start()
    caplog.set_level("INFO", logger="kit.claims")
    thread, entered = lock_in_thread(phase)
    assert not entered.wait(2 * LEASE_S), "a live holder's claim was taken"
    stop.set()
    beating.join()
    held.unlink()  # released
    assert entered.wait(2.0)
    thread.join()
    assert f"waiting for elsewhere pid 4242 to finish {phase}" in caplog.text
    assert caplog.text.count("waiting for elsewhere") == 1


def test_a_claim_on_another_host_whose_heartbeat_stopped_is_taken_once_its_lease_runs_out(tmp_path):
    phase = tmp_path / "train"
    fake_claim(phase)
    start = time.monotonic()
    with runs.locked(phase):
        waited = time.monotonic() - start
        mine = json.loads(claim_path(phase).read_text())
    assert LEASE_S * 0.8 <= waited < LEASE_S + 2.0
    assert mine["host"] == claims.host() and mine["pid"] == os.getpid() and mine["token"] != "theirs"


def test_an_expired_claim_is_broken_and_taken_at_once(tmp_path):
    phase = tmp_path / "train"
    fake_claim(phase, age_s=10 * LEASE_S)
    start = time.monotonic()
    with runs.locked(phase):
        assert time.monotonic() - start < LEASE_S / 2
        assert json.loads(claim_path(phase).read_text())["pid"] == os.getpid()
    assert sorted(p.name for p in claim_path(phase).parent.iterdir()) == [claim_path(phase).with_suffix(".lock").name]


def test_a_claim_from_this_host_whose_pid_is_dead_is_taken_without_waiting_for_the_lease(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_CLAIM_LEASE_S", "600")
    phase = tmp_path / "train"
    fake_claim(phase, host=claims.host(), pid=dead_pid())
    start = time.monotonic()
    with runs.locked(phase):
        assert time.monotonic() - start < 1.0


def test_ages_are_read_on_the_file_servers_clock_not_this_hosts(tmp_path, monkeypatch):
    """A host whose clock runs an hour ahead of the file server must not take a fresh claim for a dead one."""
    phase = tmp_path / "train"
    held = fake_claim(phase)
    real = time.time
    monkeypatch.setattr(claims.time, "time", lambda: real() + 3600)
    assert not claims.writer_gone(held, "elsewhere", 4242)
    os.utime(held, (real() - 10 * LEASE_S, real() - 10 * LEASE_S))
    assert claims.writer_gone(held, "elsewhere", 4242)


def most_at_once(hold, threads: int, rounds: int = 1, pause_s: float = 0.005) -> int:
    """The most threads inside ``hold()``'s block at once, of ``threads`` started together, each entering it
    ``rounds`` times."""
    inside, most = [0], [0]
    guard, go = threading.Lock(), threading.Barrier(threads)

    def build() -> None:
        go.wait()
        for _ in range(rounds):
            with hold():
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(pause_s)
                with guard:
                    inside[0] -= 1

    started = [threading.Thread(target=build) for _ in range(threads)]
    [t.start() for t in started]
    [t.join(timeout=30) for t in started]
    assert inside[0] == 0
    return most[0]


def test_threads_racing_for_one_phase_never_hold_it_together(tmp_path):
    phase = tmp_path / "train"
    assert most_at_once(lambda: runs.locked(phase), threads=4, rounds=5) == 1
    assert not claim_path(phase).exists()


@pytest.mark.parametrize("round_", range(5))
def test_breakers_racing_for_one_abandoned_claim_never_both_win(tmp_path, round_):
    """The claim alone (no file lock, as on a filesystem where flock does not reach other hosts): several threads
    find the same expired claim at once, each may try to break it, and still one holds the phase at a time."""
    phase = tmp_path / "train"
    path = fake_claim(phase, age_s=10 * LEASE_S)
    assert most_at_once(lambda: claims.claimed(path, phase), threads=6, pause_s=0.01) == 1
    assert not path.exists() and not list(path.parent.glob("*.break"))


def test_the_holder_removes_its_claim_on_exit_and_on_an_exception(tmp_path):
    phase = tmp_path / "train"
    with runs.locked(phase):
        assert claim_path(phase).exists()
    assert not claim_path(phase).exists()
    with pytest.raises(RuntimeError), runs.locked(phase):
        assert claim_path(phase).exists()
        raise RuntimeError("the build failed")
    assert not claim_path(phase).exists()


def test_a_holder_whose_claim_was_taken_over_does_not_remove_the_new_holders(tmp_path):
    phase = tmp_path / "train"
    with runs.locked(phase):
        fake_claim(phase)  # broken while we were frozen, and taken by another host
    assert json.loads(claim_path(phase).read_text())["token"] == "theirs"


def test_the_holders_heartbeat_keeps_its_claim_from_expiring(tmp_path):
    phase = tmp_path / "train"
    with runs.locked(phase):
        time.sleep(2 * LEASE_S)
        assert not claims.writer_gone(claim_path(phase), "elsewhere", None)


def test_a_nested_lock_on_the_same_phase_in_one_thread_does_not_wait_on_itself(tmp_path):
    phase = tmp_path / "train"
    start = time.monotonic()
    with runs.locked(phase), runs.locked(phase):
        assert claim_path(phase).exists()
    assert time.monotonic() - start < LEASE_S / 2
    assert not claim_path(phase).exists()


HOLD = """
import os, signal, sys, time
from pathlib import Path
from kit import runs
with runs.locked(Path(sys.argv[1])):
    print("held", flush=True)
    if sys.argv[2] == "exit":
        os._exit(9)  # no exception handler, no cleanup
    time.sleep(60)
"""


@pytest.mark.parametrize("death", ["exit", "sigkill"])
def test_a_killed_holder_leaves_a_claim_the_next_locker_takes_without_waiting_for_the_lease(
    tmp_path, monkeypatch, death
):
    monkeypatch.setenv("KIT_CLAIM_LEASE_S", "600")
    phase = tmp_path / "train"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(phase), death], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    if death == "sigkill":
        holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)  # reaped: its pid is gone
    holder.stdout.close()
    assert claim_path(phase).exists(), "the killed holder left its claim"
    start = time.monotonic()
    with runs.locked(phase):
        assert time.monotonic() - start < 2.0


def partial(final: Path, name: str, age_s: float = 0.0) -> Path:
    """A scratch folder ``.<final>.<name>.partial`` with half a result in it, its heartbeat ``age_s`` old."""
    folder = final.parent / f".{final.name}.{name}.partial"
    folder.mkdir(parents=True)
    (folder / "adapter.bin").write_text("half")
    if age_s:
        os.utime(folder, (time.time() - age_s, time.time() - age_s))
    return folder


def test_staging_leaves_a_live_writers_scratch_folder_alone_and_removes_a_dead_ones(tmp_path):
    final = tmp_path / "runs" / "abc" / "train"
    kept = [
        partial(final, "elsewhere-4242.a1"),  # another host, fresh heartbeat
        partial(final, f"{claims.owner()}.a2"),  # this process (another thread), fresh heartbeat
        partial(final, "a3"),  # named by a kit from before writers were, less than a lease old
    ]
    removed = [
        partial(final, "elsewhere-4243.b1", age_s=10 * LEASE_S),  # another host, heartbeat stopped
        partial(final, f"{claims.host()}-{dead_pid()}.b2"),  # this host, its process dead
        partial(final, "b3", age_s=10 * LEASE_S),  # old-style, older than the lease
    ]
    with runs.staging(final) as tmp:
        runs.mark_done(tmp, {})
    assert runs.is_done(final)
    assert sorted(final.parent.glob(".train.*.partial")) == sorted(kept)
    assert all((p / "adapter.bin").read_text() == "half" for p in kept)
    assert not any(p.exists() for p in removed)


def test_a_long_writers_scratch_folder_outlives_the_lease_while_another_writer_starts(tmp_path):
    """Its heartbeat keeps it fresh: a second staging of the same phase after the lease leaves it alone."""
    final, mine = tmp_path / "train", []
    with runs.staging(final) as tmp:
        assert runs.partial_writer(tmp, "train") == (claims.host(), os.getpid())
        time.sleep(2 * LEASE_S)
        with runs.staging(final) as other:
            mine.append(tmp.exists())
            runs.mark_done(other, {"by": "second"})
        runs.mark_done(tmp, {"by": "first"})
    assert mine == [True]
    assert runs.read_done(final) == {"by": "first"}


def test_partial_writer_reads_hosts_with_dots_and_dashes():
    assert runs.partial_writer(Path(".train.node-1.cluster.local-77.ab_c.partial"), "train") == (
        "node-1.cluster.local",
        77,
    )
    assert runs.partial_writer(Path(".train.ab_c.partial"), "train") == (None, None)


def test_hosts_mounting_kit_home_at_different_places_name_a_phases_lock_alike(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "mnt" / "a"))
    here = runs.lock_name(tmp_path / "mnt" / "a" / "runs" / "abc" / "train")
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "shared"))  # the same KIT_HOME as another host mounts it
    assert runs.lock_name(tmp_path / "shared" / "runs" / "abc" / "train") == here
    assert runs.lock_name(tmp_path / "shared" / "runs" / "abd" / "train") != here
