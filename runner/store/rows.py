"""One run as `mixft status` shows it: state, attempts, progress, ETA and last error.

run: mixft status smoke --format json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mixft.runner.paths import run_dir, training_dir
from mixft.runner.store import rundir
from mixft.runner.store.claims import claim_summary
from mixft.runner.store.status import current_status, last_error_line, read_status, seconds_since


def progress(folder: Path, started: str | None) -> tuple[float | None, float | None]:
    """Fraction of training done (train.log's last step / progress.json's total) and seconds left."""
    steps = rundir.read_progress(folder)
    if steps is None:
        return None, None
    fraction = min(1.0, steps[0] / steps[1])
    if not started or fraction <= 0:
        return fraction, None
    return fraction, seconds_since(started) * (1 - fraction) / fraction


def training_state(folder: Path) -> str:
    """A training's state as status shows it: its status.json's, "base" for the untrained model."""
    if rundir.read_meta(folder).get("kind") == "base":
        return "base"
    return current_status(folder, claim_summary(folder))["state"]


def run_row(rid: str) -> dict[str, Any]:
    """One run's status: id, state, its training's id, state and kept weights, attempts, run_dir, its
    summary, error, holder, progress (of its training), eta_s.

    `live` is left None: the executor that runs it fills it in (a SLURM queue state, ...).
    """
    folder, training = run_dir(rid), training_dir(rid)
    holder = claim_summary(folder)  # first: a run ending now releases its claim after its last state
    status, meta = current_status(folder, holder), rundir.read_meta(folder)
    row = {
        "id": rid,
        "state": status["state"],
        "training": training.name,
        "training_state": training_state(training),
        "weights": rundir.has_weights(training),
        "attempts": status.get("attempts", 0),
        "run_dir": str(folder),
        "model": meta.get("model"),
        "tasks": meta.get("tasks", []),
        "regularizer": meta.get("regularizer"),
        "seed": meta.get("seed"),
        "role": meta.get("role"),
        "error": last_error_line(status),
        "holder": holder,
        "live": None,
        "progress": None,
        "eta_s": None,
    }
    if row["state"] == "running":
        row["progress"], row["eta_s"] = progress(training, read_status(training).get("started"))
    return row
