"""kit.eval.sandbox: one property per test, each a program a model might plausibly write."""

from __future__ import annotations

import math
import os
import time

import pytest

from kit.eval import sandbox
from kit.eval.sandbox import run_program, timeout_scale

# Wall-clock bounds stretch on a machine slower than the one they were set on, as the sandbox's own timeouts do.
SLOWER = sandbox._measured_scale()


def test_passing_program_passes():
    result = run_program("def f(x):\n    return x + 1\n\nassert f(1) == 2\n")
    assert result.passed and result.status == "passed"


def test_failing_assert_fails_and_names_the_assertion():
    result = run_program("assert 1 + 1 == 3, 'arithmetic is broken'\n")
    assert result.status == "failed"
    assert "AssertionError: arithmetic is broken" in result.detail
    assert "<sandbox>/program.py" in result.detail  # temp paths are masked, so details are reproducible


def test_program_runs_as_main_with_future_imports():
    program = "from __future__ import annotations\ndef f(x: Undefined) -> int:\n    return 1\n"
    assert run_program(program + "if __name__ == '__main__':\n    assert f(0) == 1\n").passed


def test_infinite_loop_times_out_within_timeout_plus_two_seconds():
    start = time.monotonic()
    result = run_program("while True:\n    pass\n", timeout_s=1.0)
    assert result.status == "timeout"
    assert time.monotonic() - start < 3.0 * SLOWER


@pytest.mark.parametrize(
    "program",
    [
        "import os\nwhile True:\n    os.fork()\n",
        "import posix\nwhile True:\n    posix.fork()\n",
        "import subprocess\nsubprocess.run(['sleep', '100'])\n",
        "import multiprocessing\nmultiprocessing.Process(target=print).start()\n",
        "import os\nos.system('sleep 100')\n",
    ],
    ids=["os.fork", "posix.fork", "subprocess", "multiprocessing", "os.system"],
)
def test_fork_bomb_and_subprocesses_are_refused_quickly(program):
    result = run_program(program, timeout_s=5.0)
    assert result.status == "failed"
    assert "disabled in the kit sandbox" in result.detail
    assert result.duration_s < 3.0 * SLOWER


def test_huge_allocation_fails_without_hurting_the_parent():
    result = run_program("x = bytearray(10**11)\n")
    assert result.status == "failed" and "MemoryError" in result.detail
    assert run_program("assert True\n").passed


@pytest.mark.parametrize(
    "attack",
    [
        "import os\nos.remove(TARGET)",
        "import pathlib\npathlib.Path(TARGET).unlink()",
        "open(TARGET, 'w').write('overwritten')",
        "import pathlib\npathlib.Path(TARGET).write_text('overwritten')",
        "import os\nos.rename(TARGET, TARGET + '.moved')",
        "import shutil, os\nshutil.rmtree(os.path.dirname(TARGET))",
        "import os\nos.truncate(TARGET, 0)",
    ],
    ids=["os.remove", "Path.unlink", "open-w", "Path.write_text", "os.rename", "shutil.rmtree", "os.truncate"],
)
def test_deleting_or_writing_outside_the_sandbox_dir_is_refused(tmp_path, attack):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    result = run_program(f"TARGET = {str(target)!r}\n{attack}\n")
    assert result.status == "failed"
    assert target.read_text() == "keep me"


def test_files_inside_the_sandbox_dir_are_usable():
    program = (
        "import os, tempfile\n"
        "open('a.txt', 'w').write('x')\nos.rename('a.txt', 'b.txt')\nos.makedirs('d/e')\nos.remove('b.txt')\n"
        "with tempfile.NamedTemporaryFile() as f:\n    f.write(b'ok')\n"
    )
    assert run_program(program).passed


@pytest.mark.parametrize(
    "program",
    ["import socket\nsocket.socket()\n", "import socket\nsocket.create_connection(('127.0.0.1', 80), timeout=1)\n"],
    ids=["socket", "create_connection"],
)
def test_opening_a_socket_fails(program):
    result = run_program(program)
    assert result.status == "failed" and "disabled in the kit sandbox" in result.detail


@pytest.mark.parametrize(
    "exit_call", ["import os\nos._exit(0)", "import sys\nsys.exit(0)", "exit()", "raise SystemExit"]
)
def test_exiting_with_status_zero_before_the_tests_does_not_pass(exit_call):
    result = run_program(f"{exit_call}\nassert False, 'the tests'\n")
    assert result.status == "failed" and "exited before its end" in result.detail


def test_killing_the_parent_is_refused():
    result = run_program("import os\nos.kill(os.getppid(), 9)\n")
    assert result.status == "failed"
    os.kill(os.getpid(), 0)  # still alive, and so is pytest


def test_printing_gigabytes_is_capped_and_the_parent_survives():
    limit = 1 << 16
    result = run_program("import sys\nwhile True:\n    sys.stdout.write('x' * 10**6)\n", max_output_bytes=limit)
    assert result.status == "failed" and "File too large" in result.detail
    assert len(result.stdout) <= limit
    assert result.duration_s < 5.0 * SLOWER


def test_harness_failure_is_an_error_not_a_program_failure(monkeypatch):
    monkeypatch.setattr(sandbox, "CHILD", "/nonexistent/sandbox_child.py")
    assert run_program("assert True\n").status == "error"


def test_timeout_scale_is_measured_never_below_one_and_the_environment_overrides_it(monkeypatch):
    monkeypatch.delenv(sandbox.TIMEOUT_SCALE_ENV, raising=False)
    assert timeout_scale() >= 1.0
    monkeypatch.setenv(sandbox.TIMEOUT_SCALE_ENV, "2.5")
    assert timeout_scale() == 2.5


def test_a_machine_slower_than_the_reference_gets_longer_timeouts(monkeypatch):
    monkeypatch.delenv(sandbox.TIMEOUT_SCALE_ENV, raising=False)
    monkeypatch.setattr(sandbox, "CALIBRATION_REFERENCE_S", 1e-4)  # pretend the reference was far faster
    sandbox._measured_scale.cache_clear()
    try:
        assert timeout_scale() > 10
    finally:
        sandbox._measured_scale.cache_clear()


@pytest.mark.parametrize("bad", ["0", "-1", "fast", "inf"])
def test_timeout_scale_rejects_non_positive_or_non_numbers(monkeypatch, bad):
    monkeypatch.setenv(sandbox.TIMEOUT_SCALE_ENV, bad)
    with pytest.raises(ValueError, match=sandbox.TIMEOUT_SCALE_ENV):
        timeout_scale()


def test_measured_scale_is_a_power_of_two(monkeypatch):
    monkeypatch.delenv(sandbox.TIMEOUT_SCALE_ENV, raising=False)
    sandbox._measured_scale.cache_clear()
    try:
        scale = timeout_scale()
        assert scale >= 1 and scale == 2 ** round(math.log2(scale))
    finally:
        sandbox._measured_scale.cache_clear()


@pytest.mark.parametrize("task_name", ["builtin_code", "builtin_code_easy", "humaneval"])
def test_the_timeout_factor_keys_a_code_score_and_is_recorded_with_it(task_name, monkeypatch, tmp_path):
    from kit.eval.phase import eval_key
    from kit.eval.tasks import get_task
    from kit.recipe import EvalTaskSpec, Recipe

    task, spec, recipe = get_task(task_name), EvalTaskSpec(task_name, n=2), Recipe(name="r")
    monkeypatch.setenv(sandbox.TIMEOUT_SCALE_ENV, "2")
    settings, out = eval_key(tmp_path, task, spec, recipe)
    assert settings["sandbox_timeout_scale"] == 2.0  # score_task writes the settings into the result
    monkeypatch.setenv(sandbox.TIMEOUT_SCALE_ENV, "4")
    assert eval_key(tmp_path, task, spec, recipe)[1] != out
