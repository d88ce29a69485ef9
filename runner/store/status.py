"""What `mixft status` shows: every run of a sweep, its state, progress and last error.

run: mixft status smoke --watch
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from mixft.runner.errors import ConfigError
from mixft.runner.paths import run_dir, store_root
from mixft.runner.plan.sweepfile import load_sweep
from mixft.runner.store import rundir
from mixft.runner.store.claims import claim_summary


def sweep_ids(name: str) -> list[str]:
    """Run ids a sweep recorded when it last ran (`mixft sweep`).

    Args:
        name: The sweep's name as recorded in the store, or a sweep file (path or packaged name).
    """
    records = store_root() / "sweeps"
    record = rundir.read_json(records / f"{name}.json") if "/" not in name else None
    if record is None:
        record = rundir.read_json(records / f"{load_sweep(name).name}.json")
    if record is None:
        raise ConfigError(
            f"sweep '{name}' has not run in this store ({store_root()}); start it with `mixft sweep {name}`"
        )
    return list(record["runs"])


def _progress(folder: Path, started: str | None) -> tuple[float | None, float | None]:
    """Fraction of training done (train.log's last step / progress.json's total) and seconds left."""
    log = folder / "train.log"
    total = (rundir.read_json(folder / "progress.json") or {}).get("max_steps")
    if not log.exists() or not total:
        return None, None
    lines = log.read_text(encoding="utf-8").strip().splitlines()
    try:
        step = json.loads(lines[-1])["step"] if lines else 0
    except (ValueError, KeyError, TypeError):  # a line cut off by a kill
        return None, None
    if not isinstance(step, int | float) or not isinstance(total, int | float):  # corrupt files
        return None, None
    fraction = min(1.0, step / total)
    if not started or fraction <= 0:
        return fraction, None
    elapsed = time.time() - time.mktime(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ")) + time.timezone
    return fraction, elapsed * (1 - fraction) / fraction


UNRECORDED = "the run process ended without recording its state (killed, or a full disk)"


def current_status(folder: Path, holder: str | None) -> dict[str, Any]:
    """status.json as it stands: a run left `running` by a process that died is interrupted.

    A live run holds its claim from before it becomes running until after its last state is written,
    so `running` with no live holder means SIGKILL, a lost node or a state that could not be written;
    the next `mixft sweep` resumes it.

    Args:
        folder: The run directory.
        holder: Its live claim holder (`claim_summary`), read before status.json.
    """
    status = rundir.read_status(folder)
    if status["state"] == "running" and holder is None:
        return status | {"state": "interrupted", "error": UNRECORDED}
    return status


def run_row(rid: str) -> dict[str, Any]:
    """One run's status: at least id, state, attempts, run_dir."""
    folder = run_dir(rid)
    holder = claim_summary(folder)  # first: a run ending now releases its claim after its last state
    status, meta = current_status(folder, holder), rundir.read_json(folder / "run.json") or {}
    row = {
        "id": rid,
        "state": status["state"],
        "attempts": status.get("attempts", 0),
        "run_dir": str(folder),
        "model": meta.get("model"),
        "tasks": meta.get("tasks", []),
        "regularizer": meta.get("regularizer"),
        "seed": meta.get("seed"),
        "role": meta.get("role"),
        "error": (status.get("error") or "").strip().splitlines()[-1:] or None,
        "holder": holder,
        "slurm": None,
        "progress": None,
        "eta_s": None,
    }
    if row["error"]:
        row["error"] = row["error"][0]
    if row["state"] == "running":
        row["progress"], row["eta_s"] = _progress(folder, status.get("started"))
    return row


def _slurm_states(rows: list[dict[str, Any]]) -> None:
    """Add each queued run's SLURM state (PENDING, RUNNING, ...) from one squeue call."""
    jobs = {}
    for row in rows:
        submitted = rundir.read_json(Path(row["run_dir"]) / "slurm.json")
        if submitted and row["state"] != "done":
            jobs[submitted["job_id"]] = row
    if jobs:
        from mixft.runner.execute.executors.slurm import queued

        for job, state in queued(list(jobs)).items():
            jobs[job]["slurm"] = state


def sweep_status(name: str) -> list[dict[str, Any]]:
    """Status rows of every run a sweep holds (with `slurm`: the queue state of runs submitted there)."""
    rows = [run_row(rid) for rid in sweep_ids(name)]
    _slurm_states(rows)
    return rows
