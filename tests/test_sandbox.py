"""kit.eval.sandbox: one property per test, each a program a model might plausibly write."""

from __future__ import annotations

import math
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

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


# --- containment by Linux namespaces: each test checks the effect, not the exception -----------------------------

# Every level with namespaces that works on this machine; none (a container that forbids them): skipped, and the
# fallback's own tests below still run.
CONTAINED = [level for level in sandbox.working_levels() if level != "guards-only"] or [
    pytest.param("none", marks=pytest.mark.skip(reason="no Linux namespaces here (bwrap/unshare): guards-only"))
]
# Routes to the filesystem that never go through the patched functions, or undo the patches first.
FILE_ATTACKS = {
    "reload-os": "import importlib, os\nimportlib.reload(os)\nos.remove(TARGET)",
    "posix.unlink": "import posix\nposix.unlink(TARGET)",
    "posix.rename": "import posix\nposix.rename(TARGET, TARGET + '.moved')",
    "posix.open": "import posix\nfd = posix.open(TARGET, posix.O_WRONLY | posix.O_TRUNC)\nposix.write(fd, b'gone')",
    "_io.FileIO": "import _io\n_io.FileIO(TARGET, 'w').write(b'gone')",
    "closure-of-guard": "import os\n"
    "[c.cell_contents for c in os.remove.__closure__ if callable(c.cell_contents)][-1](TARGET)",
    "gc-referents": "import builtins, gc\n"
    "real = [r for c in builtins.open.__closure__ for r in gc.get_referents(c)\n"
    "        if getattr(r, '__name__', '') == 'open']\n"
    "real[0](TARGET, 'w').write('gone')",
    "reload-io-pathlib": "import importlib, io, pathlib\nimportlib.reload(io)\npathlib.Path(TARGET).write_text('gone')",
    "reload-shutil-rmtree": "import importlib, os, shutil\nimportlib.reload(os)\nimportlib.reload(shutil)\n"
    "shutil.rmtree(os.path.dirname(TARGET))",
    "ctypes-libc": "import sys\nsys.modules.pop('ctypes')\nsys.modules.pop('_ctypes')\nimport ctypes\n"
    "ctypes.CDLL(None).unlink(TARGET.encode())",
    "subprocess-sh": "import importlib, sys\nsys.modules.pop('_posixsubprocess')\nimport subprocess\n"
    "importlib.reload(subprocess)\nsubprocess.run(['sh', '-c', 'rm -f \"$0\"; echo gone > \"$0.new\"', TARGET])",
}


@pytest.fixture
def no_process_left(tmp_path):
    """Fails the test when a sandbox child of this checkout, or anything naming the test's tmp_path, outlives it."""
    yield
    _assert_no_process_left(tmp_path)


def _assert_no_process_left(tmp_path, grace_s: float = 1.0) -> None:
    deadline = time.monotonic() + grace_s
    while (left := _processes_naming(sandbox.CHILD, str(tmp_path))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []


def _processes_naming(*needles: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").replace("\0", " ")
        except OSError:
            continue
        if int(pid) != os.getpid() and any(needle in cmdline for needle in needles):
            found.append(f"{pid}: {cmdline}")
    return found


@pytest.fixture(params=["tmp", "home", "read-only-view"])
def outside_dir(request, tmp_path):
    """A directory outside the program's temp dir: under /tmp, under the user's home, and one the sandbox shows
    read-only (inside the interpreter's prefix)."""
    if request.param == "tmp":
        yield tmp_path
        return
    parent = Path.home() if request.param == "home" else Path(sys.prefix)
    try:
        folder = Path(tempfile.mkdtemp(prefix=".kit-sandbox-test-", dir=parent))
    except OSError as exc:
        pytest.skip(f"cannot create a test folder in {parent}: {exc}")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("level", CONTAINED)
@pytest.mark.parametrize("attack", FILE_ATTACKS.values(), ids=FILE_ATTACKS.keys())
def test_no_route_writes_deletes_or_renames_a_file_outside_the_sandbox(attack, level, outside_dir, no_process_left):
    target = outside_dir / "precious.txt"
    target.write_text("keep me")
    result = run_program(f"TARGET = {str(target)!r}\n{attack}\n", isolation_level=level)
    assert result.status in ("passed", "failed")  # the harness survived; either outcome is fine, the effect is not
    assert sorted(p.name for p in outside_dir.iterdir()) == ["precious.txt"]
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("level", CONTAINED)
def test_a_file_under_the_users_home_cannot_be_read(level, no_process_left):
    secret = secrets.token_hex(8)
    try:
        fd, path = tempfile.mkstemp(prefix=".kit-sandbox-test-", dir=Path.home())
    except OSError as exc:
        pytest.skip(f"cannot create a file in the home directory: {exc}")
    try:
        os.write(fd, secret.encode())
        os.close(fd)
        program = f"import _io\ntry:\n    print(_io.FileIO({path!r}).read())\nexcept OSError as e:\n    print(e)\n"
        result = run_program(program, isolation_level=level)
    finally:
        os.remove(path)
    assert result.status == "passed" and secret not in result.stdout


@pytest.mark.parametrize("level", CONTAINED)
def test_a_socket_to_127_0_0_1_never_reaches_a_listener_on_the_host(level, no_process_left):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        program = f"import _socket\ns = _socket.socket()\ns.connect(('127.0.0.1', {port}))\ns.send(b'hello')\n"
        result = run_program(program, isolation_level=level)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert result.status == "failed"


@pytest.mark.parametrize("level", CONTAINED)
@pytest.mark.parametrize(
    "spawn",
    [
        "import ctypes\nlibc = ctypes.CDLL(None)\nif libc.fork() == 0:\n    libc.setsid()\n    time.sleep(1)\n"
        "    open(LATE, 'w').write('still alive')\n    libc._exit(0)\n",
        "import importlib\nsys.modules.pop('_posixsubprocess')\nimport subprocess\nimportlib.reload(subprocess)\n"
        "subprocess.Popen(['sh', '-c', 'sleep 1; echo still alive > \"$0\"', LATE], start_new_session=True)\n",
    ],
    ids=["fork-setsid", "detached-shell"],
)
def test_a_detached_child_dies_with_the_program(level, spawn, tmp_path, no_process_left):
    late = tmp_path / "late.txt"
    prelude = "import sys, time\nsys.modules.pop('ctypes')\nsys.modules.pop('_ctypes')\n"
    result = run_program(f"LATE = {str(late)!r}\n{prelude}{spawn}", isolation_level=level)
    assert result.status == "passed"
    _assert_no_process_left(tmp_path, grace_s=0.5)  # the child sleeps 1 s before it writes
    time.sleep(1.0)
    assert not late.exists()


@pytest.fixture
def no_namespaces(monkeypatch):
    """This machine as a container that forbids namespaces: neither bwrap nor unshare is found."""
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    for cached in (sandbox.working_levels, sandbox._warn_guards_only):
        cached.cache_clear()
    yield
    monkeypatch.undo()
    for cached in (sandbox.working_levels, sandbox._warn_guards_only):
        cached.cache_clear()


def test_without_namespaces_it_falls_back_to_the_guards_with_a_warning_once(no_namespaces, caplog):
    with caplog.at_level("WARNING", logger="kit.eval.sandbox"):
        assert sandbox.isolation() == "guards-only"
        assert sandbox.isolation() == "guards-only"
    assert len(caplog.records) == 1 and "guards only" in caplog.text and "bubblewrap" in caplog.text
    result = run_program("assert True\n")
    assert result.passed and result.isolation == "guards-only"


@pytest.mark.parametrize("task_name", ["builtin_code", "builtin_code_easy", "humaneval"])
def test_the_fallback_keys_a_code_score_and_is_recorded_with_each_item(task_name, no_namespaces, tmp_path):
    from kit.eval.phase import eval_key
    from kit.eval.tasks import get_task
    from kit.recipe import EvalTaskSpec, Recipe

    task, spec, recipe = get_task(task_name), EvalTaskSpec(task_name, n=1), Recipe(name="r")
    settings, out = eval_key(tmp_path, task, spec, recipe)
    assert settings["sandbox_isolation"] == "guards-only"  # score_task writes the settings into the result
    assert task.score(task.load_items(1, 0)[0], "def f(): pass")["sandbox_isolation"] == "guards-only"
    sandbox.working_levels.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox, "working_levels", lambda: ("namespaces-bwrap", "guards-only"))
        assert eval_key(tmp_path, task, spec, recipe)[1] != out
