"""The GPU check's pure parts: what travels (wheel set, trimming, size limit), the phase runner's time boxes and
error records, and the result schema the estimator reads. The GPU phases themselves run in `make gpu-check`."""

from __future__ import annotations

import json
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from kit.gpucheck import carry
from kit.gpucheck.runner import finish_phase, record, run_phase

TRAIN_ROW_KEYS = {
    "backend": str,
    "batch_size": int,
    "seq_len": int,
    "tokens_per_second": float,
    "peak_vram_gib": float,
    "reserved_vram_gib": float,
    "params": int,
    "mfu": float,
    "peak_tflops": float,
    "device": str,
}


def test_carried_wheel_needs_resolve_against_the_image_list():
    reqs = {
        "trl": ["accelerate>=1.4.0", "datasets>=4.7.0", "jinja2", "transformers>=4.56.2"],
        "datasets": ["dill<0.4.2,>=0.3.0", "multiprocess<0.70.20", "pyarrow>=21.0.0"],
    }
    assert carry.missing_requirements(reqs, carry.CARRIED) == {}


def test_a_need_neither_carried_nor_in_the_image_is_reported():
    missing = carry.missing_requirements({"x": ["not-a-real-package>=1"]}, carry.CARRIED)
    assert missing == {"x": ["not-a-real-package>=1"]}


def test_a_carried_version_outside_the_needed_range_is_reported():
    missing = carry.missing_requirements({"datasets": ["dill<0.4.0"]}, {"dill": "0.4.1"})
    assert missing == {"datasets": ["dill<0.4.0"]}


def test_requirements_keep_linux_markers_and_drop_extras_and_other_platforms():
    metadata = "\n".join(
        [
            "Name: x",
            "Requires-Dist: numpy",
            'Requires-Dist: triton>=3.0.0; "linux" in sys_platform',
            'Requires-Dist: mlx==0.32.4; sys_platform == "darwin" and platform_machine == "arm64"',
            'Requires-Dist: pytest; extra == "test"',
            "Requires-Dist: eval-type-backport>=0.1.3; python_version < '3.10'",
        ]
    )
    assert carry.requirements(metadata) == ["numpy", 'triton>=3.0.0; "linux" in sys_platform']


def test_unsloth_unsloth_zoo_and_llama_cpp_are_not_in_the_image_list():
    # the check exists because the image lacks these; if the list ever held them, carrying them would be moot
    assert not {"unsloth", "unsloth-zoo", "trl", "datasets", "bitsandbytes", "llama-cpp-python"} & carry.IMAGE_PACKAGES


def _wheel(path: Path, files: dict[str, bytes]) -> Path:
    record = "".join(f"{name},sha256=x,{len(data)}\n" for name, data in files.items())
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("bitsandbytes-0.50.2.dist-info/RECORD", record)
    return path


def test_trimmed_bitsandbytes_keeps_cuda130_and_cpu_libs_and_their_record_lines(tmp_path):
    libs = {f"bitsandbytes/libbitsandbytes_{v}.so": b"x" for v in ("cuda118", "cuda128", "cuda130", "cpu", "rocm64")}
    src = _wheel(tmp_path / "in.whl", {"bitsandbytes/__init__.py": b"", **libs})
    carry.trim_wheel(src, tmp_path / "out.whl", carry.WHEEL_DROPS["bitsandbytes"])
    with zipfile.ZipFile(tmp_path / "out.whl") as zf:
        names = set(zf.namelist())
        record = zf.read("bitsandbytes-0.50.2.dist-info/RECORD").decode()
    kept = {n for n in names if n.endswith(".so")}
    assert kept == {"bitsandbytes/libbitsandbytes_cuda130.so", "bitsandbytes/libbitsandbytes_cpu.so"}
    assert "cuda118" not in record and "cuda130" in record and "__init__.py" in record


def test_trimmed_sdist_drops_models_docs_other_backends_and_git_but_keeps_cuda_and_cmake(tmp_path):
    root = "llama_cpp_python-0.3.36/"
    keep = [
        "CMakeLists.txt",
        "llama_cpp/__init__.py",
        "vendor/llama.cpp/ggml/src/ggml-cuda/fattn.cu",
        "vendor/llama.cpp/ggml/src/ggml-cpu/ggml-cpu.c",
        "vendor/llama.cpp/src/llama.cpp",
        "vendor/llama.cpp/vendor/stb/CMakeLists.txt",
    ]
    drop = [
        ".git/modules/vendor/llama.cpp/objects/pack/p.pack",
        "vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf",
        "vendor/llama.cpp/docs/build.md",
        "vendor/llama.cpp/ggml/src/ggml-vulkan/ggml-vulkan.cpp",
        "vendor/llama.cpp/tools/mtmd/clip.cpp",
        "vendor/llama.cpp/vendor/stb/stb_image.h",
        "vendor/llama.cpp/convert_hf_to_gguf.py",
    ]
    src = tmp_path / "in.tar.gz"
    with tarfile.open(src, "w:gz") as tar:
        for name in keep + drop:
            (tmp_path / "f").write_bytes(b"x")
            tar.add(tmp_path / "f", arcname=root + name)
    info = carry.trim_sdist(src, tmp_path / "out.tar.gz")
    with tarfile.open(tmp_path / "out.tar.gz") as tar:
        names = {m.name.removeprefix(root) for m in tar}
    assert names == set(keep)
    assert info == {"members_kept": len(keep), "members_dropped": len(drop)}


def test_size_report_counts_every_file_and_fails_at_the_limit(tmp_path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "a.whl").write_bytes(b"x" * 3 * 2**20)
    (tmp_path / "sdist.tar.gz").write_bytes(b"x" * 2**20)
    report = carry.size_report(tmp_path, limit_mib=5)
    assert report["items"] == {"sdist.tar.gz": 2**20, "wheels": 3 * 2**20}
    assert report["total_bytes"] == 4 * 2**20 and report["ok"]
    assert not carry.size_report(tmp_path, limit_mib=4)["ok"]
    assert "OVER" in carry.format_size_report(carry.size_report(tmp_path, limit_mib=4))


def test_phase_runner_kills_a_phase_at_its_time_box_and_keeps_its_partial_result(tmp_path):
    result = tmp_path / "phase.json"
    code = (
        f"import json, time; json.dump({{'rows': [1]}}, open({str(result)!r}, 'w')); print('started'); time.sleep(30)"
    )
    outcome = run_phase([sys.executable, "-c", code], 2, tmp_path / "phase.log")
    assert outcome["timed_out"]
    status = finish_phase(result, outcome)
    written = json.loads(result.read_text())
    assert written["rows"] == [1] and written["error"].startswith("timed out")
    assert "started" in written["output_tail"] and status["error"] == written["error"]
    assert "provenance" in written


def test_a_failing_phase_records_its_exit_code_and_last_output_lines(tmp_path):
    code = "import sys; print('\\n'.join(f'line {i}' for i in range(100))); sys.exit('boom')"
    outcome = run_phase([sys.executable, "-c", code], 30, tmp_path / "phase.log")
    finish_phase(tmp_path / "phase.json", outcome)
    written = json.loads((tmp_path / "phase.json").read_text())
    assert written["error"] == "exit 1" and written["output_tail"].endswith("boom")
    assert "line 0\n" not in written["output_tail"]  # only the tail


def test_phases_sharing_a_file_keep_their_status_apart_and_fill_failed_rows(tmp_path):
    from kit.gpucheck.check import _failed_rows

    path = tmp_path / "train-7b.json"
    record(path, {"rows": [{"backend": "unsloth", "batch_size": 1, "seq_len": 1024, "tokens_per_second": 1.0}]})
    outcome = {"returncode": -9, "timed_out": True, "seconds": 160.0, "output_tail": "CUDA out of memory"}
    finish_phase(path, outcome, _failed_rows("train-unsloth", "gpu"), slot="train-unsloth")
    written = json.loads(path.read_text())
    assert "error" not in written and written["phases"]["train-unsloth"]["timed_out"]
    failed = {r["batch_size"]: r["error"] for r in written["rows"] if "error" in r}
    assert set(failed) == {2, 4} and all("CUDA out of memory" in e for e in failed.values())


def test_train_rows_follow_the_estimator_schema():
    from kit.gpucheck.phases import MFU_FORMULA, peak_flops

    # the row measure() builds, with the fields it fills; the schema is what results/gpu-check/README.md promises
    row = {
        "backend": "unsloth",
        "batch_size": 4,
        "seq_len": 1024,
        "tokens_per_second": 3000.0,
        "peak_vram_gib": 6.5,
        "reserved_vram_gib": 7.0,
        "params": 6738415616,
        "mfu": round(6 * 6738415616 * 3000.0 / peak_flops("NVIDIA H100 80GB HBM3"), 4),
        "peak_tflops": peak_flops("NVIDIA H100 80GB HBM3") / 1e12,
        "device": "NVIDIA H100 80GB HBM3",
    }
    for key, kind in TRAIN_ROW_KEYS.items():
        assert isinstance(row[key], kind), key
    assert row["peak_tflops"] == 989.0 and peak_flops("NVIDIA H100 PCIe") == 756e12
    assert "6 x params" in MFU_FORMULA


def test_the_7b_config_has_llama_2_7b_parameter_count():
    from kit.gpucheck.check import seven_b_params

    assert seven_b_params() == 6_738_415_616


def test_result_files_fit_what_the_device_tool_brings_back():
    from kit.gpucheck.check import PHASES, RESULT_FILES

    assert len(RESULT_FILES) <= 8
    assert {f for _, _, f in PHASES} <= set(RESULT_FILES)
    assert sum(budget for name, budget, _ in PHASES if name in ("env", "models", "train-unsloth")) < 510


def test_long_rows_are_cut_to_exactly_the_sequence_length_by_the_kits_tokenizer(isolated):
    from kit.gpucheck.phases import checked_rows
    from kit.models import smollm2_tokenizer

    rows, check = checked_rows(smollm2_tokenizer(), 3, 256)
    assert len(rows) == 3 and check["tokens_per_row"] == 256 and check["trained_tokens_per_row_min"] > 0


def _fake_build(tmp_path: Path, code: str) -> dict:
    import subprocess
    import time

    log = tmp_path / "build.log"
    cmd = [sys.executable, "-c", code]
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    return {"proc": proc, "start": time.time(), "out": tmp_path, "log": log}


def test_a_build_still_running_at_its_time_box_is_stopped_and_recorded(tmp_path):
    from kit.gpucheck.check import finish_build

    build = _fake_build(tmp_path, "import time; print('[12/200] Building CUDA object', flush=True); time.sleep(60)")
    result = finish_build(build, 1, tmp_path / "llama-build.json", {})
    assert result["error"].startswith("still building") and "[12/200]" in result["log_tail"]
    assert build["proc"].poll() is not None


def test_a_failed_build_is_recorded_with_its_log(tmp_path):
    from kit.gpucheck.check import finish_build

    build = _fake_build(tmp_path, "import sys; print('nvcc fatal'); sys.exit(1)")
    result = finish_build(build, 30, tmp_path / "llama-build.json", {})
    assert result["error"] == "pip wheel exited 1" and "nvcc fatal" in result["log_tail"]


def test_the_gpu_profile_refuses_to_run_without_cuda(monkeypatch, tmp_path):
    from kit.gpucheck import check

    monkeypatch.setattr("kit.env.cuda_available", lambda: False)
    with pytest.raises(SystemExit, match="needs a CUDA GPU"):
        check.run(profile="gpu", results=tmp_path / "r", work=tmp_path / "w")
    assert not (tmp_path / "w").exists()


@pytest.mark.slow
def test_the_pinned_wheels_download_trim_and_resolve(tmp_path):
    info = carry.prepare_wheels(tmp_path / "wheels", carry.downloads_dir())  # raises if a need is unresolved
    assert len(info["wheels"]) == len(carry.CARRIED) and info["files_dropped"]["bitsandbytes"] > 0
    assert carry.size_report(tmp_path)["ok"]


@pytest.mark.slow
def test_prepare_makes_the_carried_folder_under_the_limit():
    report = carry.size_report(carry.REPO / carry.CARRY_DIR) if (carry.REPO / carry.CARRY_DIR).is_dir() else None
    if report is None:
        pytest.skip("run `make gpu-check-prepare` first")
    assert report["ok"], carry.format_size_report(report)


def test_phases_past_the_budget_are_recorded_as_skipped_with_failed_rows(tmp_path, monkeypatch):
    from kit.gpucheck import check

    monkeypatch.setenv("GPU_CHECK_T0", "0")  # the budget ran out long ago
    summary = check.run(profile="dry", results=tmp_path / "r", work=tmp_path / "w", kit_home=tmp_path / "k")
    assert set(summary) == set(check.DRY_PHASES)
    assert all(status["error"].startswith("not started") for status in summary.values())
    rows = json.loads((tmp_path / "r" / "train-7b.json").read_text())["rows"]
    assert {(r["backend"], r["batch_size"]) for r in rows} == {("hf", 1), ("hf", 2)}
    assert all("not started" in r["error"] for r in rows)
    assert json.loads((tmp_path / "r" / "env.json").read_text())["error"].startswith("not started")
