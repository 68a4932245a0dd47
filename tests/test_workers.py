"""Training and export run in worker processes: a crash or an out-of-memory kill is a clear error naming the log."""

from __future__ import annotations

import pytest

from kit.pipeline import RunError, run_worker


def test_a_killed_worker_says_it_may_have_run_out_of_memory_and_where_its_log_is(tmp_path, monkeypatch):
    killer = "import os, signal\nprint('loading')\nos.kill(os.getpid(), signal.SIGKILL)\n"
    (tmp_path / "kit_test_killed.py").write_text(killer)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    log = tmp_path / "export.log"
    with pytest.raises(RunError, match=r"export failed \(exit -9 \(killed: out of memory\?\)\).*export\.log"):
        run_worker("kit_test_killed", tmp_path, log, "export")
    assert log.read_text() == "loading\n"


def test_an_export_worker_without_its_job_fails_with_the_error_in_its_log(tmp_path):
    with pytest.raises(RunError, match=r"export failed \(exit 1\)"):
        run_worker("kit.export.worker", tmp_path, tmp_path / "export.log", "export")
    assert "job.json" in (tmp_path / "export.log").read_text()


def test_parity_probes_include_a_multi_turn_chat(tmp_path):
    from kit import runs
    from kit.pipeline import probe_prompts

    chats = [[{"role": "user", "content": f"q{k}"}, {"role": "assistant", "content": f"a{k}"}] for k in range(3)]
    run = runs.RunDir(tmp_path)
    runs.write_jsonl(run.rows, [{"messages": m} for m in chats])
    probes = probe_prompts(run, 2)
    assert probes[:2] == [chats[0][:1], chats[1][:1]]
    assert [m["content"] for m in probes[2]] == ["q0", "a0", "q1"]
    assert probe_prompts(run, 1) == [chats[0][:1]]
