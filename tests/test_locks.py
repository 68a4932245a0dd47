"""A phase is built by one process at a time: the others wait on its lock, then find it done."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

BUILD = """
import sys, time
from pathlib import Path
from kit import runs
phase, log = Path(sys.argv[1]), Path(sys.argv[2])
with runs.locked(phase):
    if not runs.is_done(phase):
        with runs.staging(phase) as tmp:
            with open(log, "a") as f:
                f.write("built\\n")
            time.sleep(1.0)  # long enough for the other process to arrive and clear a stale .partial, unlocked
            (tmp / "out.txt").write_text("whole")
            runs.mark_done(tmp, {})
print((phase / "out.txt").read_text())
"""


def test_two_processes_racing_for_one_phase_build_it_once_and_both_see_it(tmp_path):
    phase, log = tmp_path / "runs" / "abc" / "train", tmp_path / "built.log"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BUILD, str(phase), str(log)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "KIT_HOME": str(tmp_path / "home")},
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["whole", "whole"]
    assert log.read_text() == "built\n"
    assert not list(phase.parent.glob(".train.*.partial"))
