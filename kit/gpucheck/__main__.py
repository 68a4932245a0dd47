"""``python -m kit.gpucheck prepare|run|phase NAME`` (the Makefile's gpu-check-prepare and gpu-check)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m kit.gpucheck", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    prep = sub.add_parser("prepare", help="make .gpu-check/ (needs PyPI) and dry-run the CPU parts")
    prep.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    prep.add_argument("--no-dry-run", action="store_true")
    sub.add_parser("run", help="every phase, time-boxed (the GPU machine)")
    phase = sub.add_parser("phase", help="one phase in this process (the runner starts these)")
    phase.add_argument("name")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    if args.cmd == "prepare":
        from kit.gpucheck.check import prepare

        prepare(args.data, dry_run=not args.no_dry_run)
    elif args.cmd == "run":
        from kit.gpucheck.check import run

        run()
    else:
        if args.name == "train-unsloth":  # Unsloth must be imported before transformers in its process
            from kit.backends.worker import unsloth_environment

            unsloth_environment()
            import unsloth  # noqa: F401
        from kit.gpucheck.phases import PHASES

        if args.name not in PHASES:
            sys.exit(f"unknown phase {args.name!r}; valid: {', '.join(PHASES)}")
        PHASES[args.name]()


if __name__ == "__main__":
    main()
