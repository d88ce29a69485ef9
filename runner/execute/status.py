"""What `mixft status` shows: every run of a sweep with its state, progress and last error, and what
the executors know of the runs they have in flight (a SLURM queue state).

run: mixft status smoke --watch
"""

from __future__ import annotations

from typing import Any

from mixft.runner.execute.executors import EXECUTORS
from mixft.runner.plan.sweepfile import recorded_runs
from mixft.runner.store.rows import run_row


def sweep_status(name: str) -> list[dict[str, Any]]:
    """Status rows of every run a sweep holds (see `store.rows.run_row`), live states filled in."""
    rows = [run_row(rid) for rid in recorded_runs(name)]
    for executor in EXECUTORS.values():
        executor.live_states(rows)
    return rows
