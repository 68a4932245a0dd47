"""The training worker: ``python -m kit.backends.worker RUN_DIR`` trains one run's adapter.

It reads its job (``RUN_DIR/job.json``: kit.backends.job.TrainJob) and the rows the data phase wrote, and writes
``RUN_DIR/train`` atomically, so a killed worker leaves no
half-finished adapter behind and the next attempt starts the phase again.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from kit.backends.job import TrainJob
from kit.runs import RunDir, kit_home, mark_done, read_jsonl, staging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # bitsandbytes' CPU backend says at every import that an optional kernels package is missing.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    run = RunDir(args.run_dir)
    job = TrainJob.read(run.job)
    if job.backend == "unsloth":  # Unsloth must be imported before transformers in this process
        unsloth_environment()
        import unsloth  # noqa: F401
    from kit.backends import get_backend

    if job.report_to:
        from kit.backends.tracking import prepare

        prepare(job.report_to, run.logs)
    rows = read_jsonl(run.rows)
    with staging(run.train) as out:
        metrics = get_backend(job.backend)(rows, job, str(out))
        mark_done(out, metrics)


def unsloth_environment() -> None:
    """Before Unsloth's import: no statistics ping to the hub on every load (it times out offline), and its
    compiled-module cache in the kit's cache instead of the working directory (the repo). A user's own
    settings win."""
    os.environ.setdefault("UNSLOTH_DISABLE_STATISTICS", "1")
    os.environ.setdefault("UNSLOTH_COMPILE_LOCATION", str(kit_home() / "unsloth_compiled_cache"))


if __name__ == "__main__":
    main()
