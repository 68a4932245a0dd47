"""What travels to the GPU machine (``make gpu-check-prepare``): wheels it lacks, trimmed; llama-cpp-python's sdist,
trimmed to what a CUDA build reads; llama.cpp's GGUF converter, unpacked; a stand-in SentencePiece tokenizer.

Everything lands in ``.gpu-check/`` (ignored by git, named in the device tool's ``carry``); downloads are cached in
``$KIT_HOME/downloads/gpu-check`` so a second prepare fetches nothing. The device tool moves at most 64 MiB (the
working tree included), so the folder must stay under ``CARRY_LIMIT_MIB``.

Over 400 lines: the wheel set, its trimming and the image's package list are one concern (what travels).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from kit.runs import content_hash, kit_home

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
CARRY_DIR = ".gpu-check"
CARRY_LIMIT_MIB = 60
LLAMA_CPP_VERSION = "0.3.36"  # the Makefile's and requirements-gpu.txt's pin

# What the GPU image lacks, at requirements-gpu.txt's pins (bitsandbytes: 0.50.2, the newest allowed, ships
# libbitsandbytes_cuda130.so for the image's CUDA 13.0; peft is in the image at an unknown version, so the
# pin travels too). Their needs that the image lacks follow (see missing_requirements).
CARRIED = {
    "unsloth": "2026.10.7",
    "unsloth_zoo": "2026.10.7",
    "trl": "1.14.2",
    "datasets": "4.8.5",
    "bitsandbytes": "0.50.2",
    "peft": "0.21.2",
    "gguf": "0.19.0",
    "tyro": "1.0.17",  # unsloth, unsloth_zoo
    "docstring-parser": "0.17.0",  # tyro
    "typeguard": "4.4.4",  # tyro
    "dill": "0.4.1",  # datasets (<0.4.2), multiprocess
    "multiprocess": "0.70.19",  # datasets (<0.70.20)
    "diskcache": "5.6.3",  # llama-cpp-python
}

# Declared needs left behind on purpose: nothing the kit's path imports needs them (each was checked in the
# 2026.10.7 sources: imported inside a try, or only by a feature the check does not use).
NOT_CARRIED = {
    "xformers": "optional: Unsloth imports it in a try and uses PyTorch's SDPA without it; ~100 MB",
    "torchao": "only Unsloth's fp8 / QAT paths import it",
    "diffusers": "only Unsloth's diffusion models",
    "hf-transfer": "a faster hub download; no hub there",
    "cut-cross-entropy": "unsloth_zoo imports it in a try, and sets UNSLOTH_ENABLE_CCE=0 on torch >= 2.8",
    "msgspec": "only unsloth_zoo.vllm_lora_request (vLLM)",
    "pydantic": "only the unsloth CLI and Studio",
    "structlog": "only Unsloth Studio",
    "nest-asyncio": "only Unsloth Studio",
    "mlx": "macOS only",
    "mlx-lm": "macOS only",
    "mlx-vlm": "macOS only",
    "triton-windows": "Windows only",
    "eval-type-backport": "Python < 3.10 only",
}

# The GPU image's Python packages (/work/.library/device/KINDS.md, "Python packages already there", read
# 2026-11-17); names normalized.
IMAGE_PACKAGES = frozenset(
    """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools
formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe
matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime
nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft
pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image
scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash
yarl zipp""".split()
)

# The GPU machine, for evaluating requirement markers.
TARGET_ENV = {
    "python_version": "3.12",
    "python_full_version": "3.12.3",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}
PLATFORMS = ("manylinux_2_" + n + "_x86_64" for n in ("28", "27", "24", "17"))
PIP_TARGET = [
    "--no-deps",
    "--only-binary=:all:",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    *[arg for p in (*PLATFORMS, "manylinux2014_x86_64", "manylinux1_x86_64") for arg in ("--platform", p)],
]


class CarryError(RuntimeError):
    """The carried set cannot be made or is too large."""


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the wheel set ------------------------------------------------------------------------------


def requirements(metadata: str) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA that apply on the GPU machine (no extras)."""
    from packaging.requirements import Requirement

    out = []
    for line in metadata.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req = Requirement(line.split(":", 1)[1].strip())
        if req.marker is None or req.marker.evaluate(TARGET_ENV):
            out.append(str(req))
    return out


def missing_requirements(wheel_requirements: dict[str, list[str]], carried: dict[str, str]) -> dict[str, list[str]]:
    """{package: its needs that neither the image, the carried set (at a version that satisfies them) nor
    NOT_CARRIED answers}; empty when the carried set resolves."""
    from packaging.requirements import Requirement

    have = {normalize(k): v for k, v in carried.items()}
    skipped = {normalize(k) for k in NOT_CARRIED}
    out: dict[str, list[str]] = {}
    for pkg, reqs in wheel_requirements.items():
        for text in reqs:
            req = Requirement(text)
            name = normalize(req.name)
            if name in have:
                ok = req.specifier.contains(have[name], prereleases=True)
            else:
                ok = name in IMAGE_PACKAGES or name in skipped
            if not ok:
                out.setdefault(pkg, []).append(text)
    return out


def wheel_metadata(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return zf.read(name).decode()


def download_wheel(name: str, version: str, cache: Path) -> Path:
    """The wheel from the cache, else from PyPI for the GPU machine's Python and platform."""
    found = _cached_wheel(name, version, cache)
    if found:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", *PIP_TARGET, "-d", str(cache), f"{name}=={version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = _cached_wheel(name, version, cache)
    if done.returncode != 0 or not found:
        raise CarryError(f"pip download {name}=={version} failed:\n{done.stderr[-1500:]}")
    return found


def _cached_wheel(name: str, version: str, cache: Path) -> Path | None:
    stem = re.sub(r"[-.]+", "_", name).lower()
    hits = [p for p in cache.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-")]
    return hits[0] if hits else None


# Files a trimmed wheel leaves out, by package: other CUDA/ROCm/XPU builds of bitsandbytes (the image has CUDA
# 13.0), and Unsloth Studio (a web UI; 89 MB of its 90 MB unpacked).
WHEEL_DROPS = {
    "bitsandbytes": re.compile(r"bitsandbytes/libbitsandbytes_(?!cuda130\.so$|cpu\.so$)[^/]+\.so$"),
    "unsloth": re.compile(r"^studio/"),
}


def trim_wheel(src: Path, dst: Path, drop: re.Pattern) -> list[str]:
    """Copy a wheel without the members ``drop`` matches (and their RECORD lines); returns what was dropped."""
    dropped = []
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if drop.search(info.filename):
                dropped.append(info.filename)
                continue
            data = zin.read(info.filename)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines()
                data = ("\n".join(x for x in lines if not drop.search(x.split(",", 1)[0])) + "\n").encode()
            zout.writestr(info, data)
    return dropped


def prepare_wheels(out: Path, cache: Path) -> dict:
    """The carried wheels in ``out`` (trimmed where WHEEL_DROPS says) and the check that their needs resolve."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.whl"):
        stale.unlink()
    reqs, dropped = {}, {}
    for name, version in CARRIED.items():
        src = download_wheel(name, version, cache)
        dst = out / src.name
        if name in WHEEL_DROPS:
            dropped[name] = len(trim_wheel(src, dst, WHEEL_DROPS[name]))
        else:
            shutil.copy(src, dst)
        reqs[name] = requirements(wheel_metadata(dst))
    missing = missing_requirements(reqs, CARRIED)
    if missing:
        raise CarryError(f"the carried wheels need what neither the image nor the carried set has: {missing}")
    return {"wheels": sorted(p.name for p in out.glob("*.whl")), "files_dropped": dropped}


# --- llama-cpp-python's sdist --------------------------------------------------------------------

# Paths (under llama_cpp_python-<v>/) a CUDA build with -DLLAVA_BUILD=OFF never reads: git history, docs, tests,
# examples, vocab files, the multimodal tools, other GPU backends, the converter (carried unpacked), and the two
# header-only libraries only mtmd includes (their CMakeLists.txt stay: vendor/CMakeLists.txt adds them).
_LLAMA = "vendor/llama.cpp/"
SDIST_DROPS = re.compile(
    r"^(\.git|docs|examples|tests|docker|scripts)/"
    rf"|^{_LLAMA}(models|docs|tests|examples|benches|media|\.github|\.devops|scripts|app|pocs|skills|tools|ci"
    r"|grammars|requirements|gguf-py|conversion)/"
    rf"|^{_LLAMA}convert_[^/]*\.py$"
    rf"|^{_LLAMA}ggml/src/ggml-(cann|et|hexagon|hip|metal|musa|opencl|openvino|rpc|sycl|virtgpu|vulkan|webgpu|zdnn"
    r"|zendnn)/"
    rf"|^{_LLAMA}vendor/(miniaudio|stb)/(?!CMakeLists\.txt$)"
)


def trim_sdist(src: Path, dst: Path) -> dict:
    """A copy of the sdist without what SDIST_DROPS names (it must be built with -DLLAVA_BUILD=OFF)."""
    kept = dropped = 0
    tmp = dst.with_name(f".{dst.name}.partial")
    with tarfile.open(src) as tin, tarfile.open(tmp, "w:gz", compresslevel=9) as tout:
        for member in tin:
            rel = member.name.split("/", 1)[1] if "/" in member.name else ""
            if rel and SDIST_DROPS.search(rel):
                dropped += 1
                continue
            kept += 1
            tout.addfile(member, tin.extractfile(member) if member.isfile() else None)
    tmp.replace(dst)
    return {"members_kept": kept, "members_dropped": dropped}


def prepare_sdist(out: Path) -> dict:
    from kit.export.gguf import sdist_path

    src = sdist_path(LLAMA_CPP_VERSION)
    if not src.is_file():
        src.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps"]
        subprocess.run([*cmd, "-d", str(src.parent), f"llama-cpp-python=={LLAMA_CPP_VERSION}"], check=True)
    dst = out / src.name
    cached = src.with_name(f"trimmed-{content_hash(SDIST_DROPS.pattern, 8)}-{src.name}")  # redone when the rules change
    info = {"source_mib": round(src.stat().st_size / 2**20, 1)}
    if not cached.is_file():
        info |= trim_sdist(src, cached)
    shutil.copy(cached, dst)
    return info


def prepare_converter(out: Path) -> dict:
    """llama.cpp's converter, unpacked by the kit's own converter_script() and copied into the carried
    ``llama.cpp/<version>`` (the GPU run points KIT_HOME's llama.cpp/ there); gguf-py's tests stay behind."""
    from kit.export.gguf import converter_script, llama_cpp_version

    if llama_cpp_version() != LLAMA_CPP_VERSION:
        raise CarryError(
            f"llama-cpp-python {llama_cpp_version()} is installed here; the GPU stack pins {LLAMA_CPP_VERSION}"
        )
    root = converter_script().parent
    dst = out / "llama.cpp" / LLAMA_CPP_VERSION
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(root, dst, ignore=shutil.ignore_patterns("tests", "__pycache__", "examples"))
    return {"files": sum(1 for p in dst.rglob("*") if p.is_file())}


# --- size ---------------------------------------------------------------------------------------


def size_report(folder: Path, limit_mib: float = CARRY_LIMIT_MIB) -> dict:
    """Bytes on disk per top-level item and in total; ``ok`` says whether the total is under the limit."""
    items = {}
    for item in sorted(folder.iterdir()):
        files = [item] if item.is_file() else [p for p in item.rglob("*") if p.is_file()]
        items[item.name] = sum(p.stat().st_size for p in files)
    total = sum(items.values())
    return {"items": items, "total_bytes": total, "limit_mib": limit_mib, "ok": total < limit_mib * 2**20}


def format_size_report(report: dict) -> str:
    lines = [f"  {n / 2**20:8.2f} MiB  {name}" for name, n in report["items"].items()]
    verdict = "under" if report["ok"] else "OVER"
    lines.append(f"  {report['total_bytes'] / 2**20:8.2f} MiB  total ({verdict} the {report['limit_mib']} MiB limit)")
    return "\n".join(lines)


def downloads_dir() -> Path:
    return kit_home() / "downloads" / "gpu-check"


# --- the stand-in tokenizer ---------------------------------------------------------------------

# Llama-2's SentencePiece settings (BPE, byte fallback, digits split, <unk>/<s>/</s> at 0/1/2, 32,000 pieces), so
# the random 7B has Llama-2-7B's exact parameter count and the export takes llama.cpp's SentencePiece path.
SPM_SETTINGS = {
    "model_type": "bpe",
    "vocab_size": 32000,
    "byte_fallback": True,
    "split_digits": True,
    "allow_whitespace_only_pieces": True,
    "remove_extra_whitespaces": False,
    "normalization_rule_name": "identity",
    "character_coverage": 0.99995,
    "unk_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "pad_id": -1,
    "max_sentence_length": 16384,
    "num_threads": 2,
}


def corpus_lines(data_root: Path) -> list[str]:
    """Text lines from the shared data files (read in place, never copied into the repo)."""
    import json

    texts: list[str] = []
    for line in (data_root / "gsm8k" / "train.jsonl").read_text().splitlines():
        row = json.loads(line)
        texts += [row["question"], row["answer"]]
    for row in json.loads((data_root / "code_alpaca" / "code_alpaca_2k.json").read_text()):
        texts += [row["instruction"], row["input"], row["output"]]
    for conv in json.loads((data_root / "sharegpt_format" / "dummy_conversation.json").read_text()):
        texts += [turn["value"] for turn in conv["conversations"]]
    for line in (data_root / "self_instruct_seed" / "seed_tasks.jsonl").read_text().splitlines():
        row = json.loads(line)
        texts += [row["instruction"]] + [x for inst in row["instances"] for x in (inst["input"], inst["output"])]
    for line in (data_root / "mt_bench" / "question.jsonl").read_text().splitlines():
        texts += json.loads(line)["turns"]
    return [x for text in texts for x in text.splitlines() if x.strip()]


def prepare_tokenizer(out: Path, data_root: Path) -> dict:
    """A SentencePiece BPE model trained on the shared data, saved beside its transformers form (tokenizer.json,
    a Llama tokenizer with the gpu profile's vicuna_v1.1 template); the SentencePiece training is reused."""
    import os
    import tempfile

    import sentencepiece as spm

    model = out / "tokenizer.model"
    if not model.is_file():
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            text = Path(tmp) / "corpus.txt"
            text.write_text("\n".join(corpus_lines(data_root)) + "\n")
            spm.SentencePieceTrainer.train(
                input=str(text), model_prefix=str(Path(tmp) / "sp"), minloglevel=2, **SPM_SETTINGS
            )
            shutil.copy(Path(tmp) / "sp.model", model)
    # transformers reads the SentencePiece file through protobuf, which the CPU stack lacks: a private copy.
    paths = [str(p) for p in (_protobuf(), REPO) if p] + [os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    done = subprocess.run([sys.executable, "-c", _TO_HF, str(out)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise CarryError(f"building the transformers tokenizer failed:\n{done.stderr[-2000:]}")
    return {"vocab_size": int(done.stdout.split()[-1]), "files": sorted(p.name for p in out.iterdir())}


# From a folder holding the SentencePiece file alone: a tokenizer.json beside it would be read instead.
_TO_HF = """
import json, shutil, sys, tempfile
from pathlib import Path
from transformers import LlamaTokenizer
from kit.data.templates import inference_template
with tempfile.TemporaryDirectory() as tmp:
    shutil.copy(Path(sys.argv[1]) / "tokenizer.model", tmp)
    tok = LlamaTokenizer.from_pretrained(tmp, legacy=True)  # "<s>A" -> <s> ▁A, as Llama-2 and llama.cpp do
tok.chat_template = inference_template("vicuna_v1.1")
tok.save_pretrained(sys.argv[1])
config = Path(sys.argv[1]) / "tokenizer_config.json"  # transformers 5 rebuilds the pre-tokenizer from this flag
config.write_text(json.dumps({**json.loads(config.read_text()), "legacy": True}, indent=2))
print(len(tok))
"""


def _protobuf() -> Path | None:
    import importlib.util

    if importlib.util.find_spec("google") and importlib.util.find_spec("google.protobuf"):
        return None
    target = downloads_dir() / "host-protobuf"
    if not (target / "google" / "protobuf").is_dir():
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), "protobuf>=5,<8"]
        subprocess.run(cmd, check=True)
    return target
