"""HF folder -> GGUF with llama.cpp's converter of the same version as the installed llama-cpp-python,
then quantization through the binding (no llama.cpp command-line tools needed).

The converter comes from the llama-cpp-python sdist (``vendor/llama.cpp``), unpacked once into the
cache; it brings its own ``gguf-py`` so the installed ``gguf`` package is never touched.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from kit.runs import kit_home, locked, staging

log = logging.getLogger(__name__)

# llama.cpp's file types (enum llama_ftype) for the quantizations recipes may name.
FTYPES = {"F16": 1, "Q4_0": 2, "Q8_0": 7, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18}
_KEEP = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")


class ExportError(RuntimeError):
    """Conversion or quantization failed; the message carries the converter's last output."""


def llama_cpp_version() -> str:
    return importlib.metadata.version("llama_cpp_python")


def sdist_path(version: str) -> Path:
    return kit_home() / "downloads" / f"llama_cpp_python-{version}.tar.gz"


def converter_script() -> Path:
    """The converter of the installed llama.cpp version, unpacked from its sdist on first use."""
    version = llama_cpp_version()
    root = kit_home() / "llama.cpp" / version
    with locked(root):
        return _unpack_converter(root, version)


def _unpack_converter(root: Path, version: str) -> Path:
    script = root / "convert_hf_to_gguf.py"
    if script.is_file():
        return script
    sdist = sdist_path(version)
    if not sdist.is_file():
        log.info("fetching the llama-cpp-python %s sdist for its GGUF converter", version)
        sdist.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "-d", str(sdist.parent)]
        done = subprocess.run([*cmd, f"llama-cpp-python=={version}"], capture_output=True, text=True)
        if done.returncode != 0 or not sdist.is_file():
            raise ExportError(
                f"could not fetch the llama-cpp-python {version} sdist (needed for convert_hf_to_gguf.py); "
                f"put it at {sdist} by hand. pip said:\n{done.stderr[-2000:]}"
            )
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    with staging(root) as tmp, tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            rel = member.name[len(prefix) :] if member.name.startswith(prefix) else ""
            if member.isfile() and rel.startswith(_KEEP):
                member.name = rel
                tar.extract(member, tmp, filter="data")
    return script


def convert(hf_dir: Path, out_path: Path, outtype: str = "f16") -> None:
    """Run llama.cpp's converter in a subprocess (it imports torch and its own gguf-py)."""
    script = converter_script()
    tmp = out_path.with_name(f".{out_path.name}.partial")
    cmd = [sys.executable, str(script), str(hf_dir), "--outfile", str(tmp), "--outtype", outtype]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("NO_LOCAL_GGUF", None)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise ExportError(f"convert_hf_to_gguf.py failed on {hf_dir} (exit {done.returncode}):\n{tail}")
    os.replace(tmp, out_path)


def quantize(src: Path, dst: Path, quant: str, n_threads: int) -> None:
    import ctypes

    import llama_cpp

    if quant not in FTYPES:
        raise ExportError(f"unknown quantization {quant!r}; valid: {', '.join(FTYPES)}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[quant]
    params.nthread = n_threads
    tmp = dst.with_name(f".{dst.name}.partial")
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), ctypes.byref(params))
    if rc != 0:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"llama_model_quantize({src.name} -> {quant}) returned {rc}")
    os.replace(tmp, dst)
