r"""A one-shot measurement on a borrowed GPU machine (H100/H200, no internet, one command of at most 10 minutes,
<= 64 MiB carried): ``make gpu-check-prepare`` here, ``make gpu-check`` there; results in results/gpu-check/.

What it measures, phase by phase (each its own process, time-boxed, its JSON written as it finishes):
env (GPU, versions, imports), models (random-init Llama-2-7B shapes, fp16 made on the GPU, and a 4-layer one),
train-unsloth / train-hf (the kit's two backends, nf4 QLoRA, batch 1/2/4 x 1024 real tokens: tokens/s, MFU,
peak VRAM), llama-build (llama-cpp-python compiled for sm_90 beside the training phases), chain-4layer (the kit's
export worker: merge, f16 GGUF, parity, Q4_K_M; then the kit's engine with every layer on the GPU at batch 1 and
8) and adapter-gap (the adapter on its nf4 base vs the merged fp16 model, teacher-forced on the same rows).

The device tool runs the checkout the session started in, so that checkout needs this code and a fresh
``make gpu-check-prepare`` (.gpu-check/ is ignored by git). Then call the tool's ``run`` with
carry=[".gpu-check"], timeout_s=540 and this command (make may be absent there; the else branch is the same):

    if command -v make >/dev/null; then make gpu-check; else export GPU_CHECK_T0=$(date +%s) PYTHONUNBUFFERED=1; \
      python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/gpu-check-site .gpu-check/wheels/*.whl && PYTHONPATH=/tmp/gpu-check-site \
      GPU_CHECK_SITE=/tmp/gpu-check-site python3 -m kit.gpucheck run; fi

The run stops itself after 510 s (kit.gpucheck.check.TOTAL_BUDGET_S); the JSONs and run.log are copied to $OUT
after every phase, so a cut-off run still brings back what it measured.
"""
