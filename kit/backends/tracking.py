"""Experiment trackers for training (``train.report_to``): what each needs installed, and where its logs go.

Tracking decides nothing about the adapter, so it stays out of the stage key (kit.runs.stage_keys): a run has the
same id tracked or not, and a cached stage is not retrained to be tracked. A stage trained with trackers logs into
its own run directory, ``<run>/logs/<tracker>/`` (kit.runs.RunDir.logs), named by its run id. The folders reach
transformers' callbacks through the environment variables they (or the tracker) read: transformers 5.17 and 5.23
both dropped ``TrainingArguments.logging_dir``; their TensorBoard callback reads ``TENSORBOARD_LOGGING_DIR`` (else
``<output_dir>/runs/<date_host>``, which would land inside the adapter folder).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

NONE = "none"  # transformers' name for no tracker (the default)
# name -> (modules that provide it: any one is enough, the pip command that installs it)
TRACKERS = {
    "tensorboard": (("tensorboard", "tensorboardX"), "pip install 'tensorboard==2.21.0'"),
    "wandb": (("wandb",), "pip install wandb"),
    "trackio": (("trackio",), "pip install trackio"),
    "mlflow": (("mlflow",), "pip install mlflow"),
}


def missing(name: str) -> str | None:
    """The pip command that installs tracker ``name`` when none of its modules is importable, else None."""
    modules, pip = TRACKERS[name]
    return None if any(importlib.util.find_spec(m) is not None for m in modules) else pip


def environment(name: str, folder: Path) -> dict[str, str]:
    """The variables that send tracker ``name``'s logs to ``folder``. A user's MLflow server (MLFLOW_TRACKING_URI
    already set) wins over the local file store: it is where such a user looks for runs."""
    if name == "tensorboard":
        return {"TENSORBOARD_LOGGING_DIR": str(folder)}
    if name == "wandb":
        return {"WANDB_DIR": str(folder)}  # wandb writes <WANDB_DIR>/wandb/run-...; online sync is the user's setting
    if name == "trackio":
        return {"TRACKIO_DIR": str(folder)}  # read when trackio is first imported: the worker sets it before training
    if name == "mlflow":
        return {} if os.environ.get("MLFLOW_TRACKING_URI") else {"MLFLOW_TRACKING_URI": folder.resolve().as_uri()}
    raise ValueError(f"unknown tracker {name!r}; valid: {', '.join(TRACKERS)}")


def prepare(names: tuple[str, ...], logs: Path) -> None:
    """Before training, in the worker: each tracker's folder emptied (a killed attempt's logs would mix with this
    one's) and made, and its variables set in this process."""
    for name in names:
        folder = logs / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.environ.update(environment(name, folder))
        log.info("tracking with %s: logs in %s", name, folder)
