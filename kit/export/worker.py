"""The export worker: ``python -m kit.export.worker DIR`` merges, converts, checks parity and quantizes one model
(parity after kit.export.render_check: the GGUF's chat template must render through the engine as it trained).

It reads ``DIR/job.json`` (written by kit.pipeline.export_phase) and leaves the GGUF, ``parity.json`` and
``phase_seconds.json`` in ``DIR``; a job with ``"merge_only": true`` (kit.pipeline.stage_base: the weights a
later stage starts from) leaves the merged HF folder in ``DIR`` and nothing else. It runs in its own process,
like training, so that the memory a 7B merge and its parity reference take is handed back when it ends, and an
out-of-memory kill ends this process (a failed row in the sweep), not the sweep.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from kit import runs
from kit.runs import read_json, timed, write_json


def export(out: Path, job: dict) -> None:
    from kit.export.gguf import convert, quantize
    from kit.export.merge import merge
    from kit.export.parity import parity_check
    from kit.export.render_check import check_rendering

    seconds: dict[str, float] = {}
    merged, f16 = out / runs.EXPORT_MERGED, out / runs.gguf_name("F16")
    adapter = Path(job["adapter"]) if job["adapter"] else None
    with timed(seconds, "merge"):
        merge(job["base_path"], adapter, merged, job["chat_template"], job["chat_template_text"])
    with timed(seconds, "convert"):
        convert(merged, f16, "f16")
    with timed(seconds, "parity"):
        check_rendering(merged, f16, job["parity_prompts"])  # the engine must render prompts as training did
        parity = parity_check(merged, f16, job["parity_prompts"], job["parity_max_tokens"], job["n_threads"])
    if job["quant"] != "F16":
        with timed(seconds, "quantize"):
            quantize(f16, out / runs.gguf_name(job["quant"]), job["quant"], job["n_threads"])
        f16.unlink()
    if not job["keep_merged"]:
        shutil.rmtree(merged, ignore_errors=True)
    write_json(out / runs.PARITY, parity)
    write_json(out / runs.PHASE_SECONDS, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    job = read_json(args.out_dir / runs.EXPORT_JOB)
    if job.get("merge_only"):
        merge_stage(args.out_dir, job)
    else:
        export(args.out_dir, job)


def merge_stage(out: Path, job: dict) -> None:
    from kit.export.merge import merge

    (out / runs.EXPORT_JOB).unlink()  # the folder becomes the merged model's
    merge(job["base_path"], Path(job["adapter"]), out, job["chat_template"], job["chat_template_text"])


if __name__ == "__main__":
    main()
