"""What `mixft status` shows: every run of a sweep with its state, progress and last error, and what
the executors know of the runs they have in flight (a SLURM queue state).

run: mixft status smoke --watch
"""

from __future__ import annotations

from typing import Any

from mixft.runner.execute.executors import EXECUTORS
from mixft.runner.plan.grid import expand
from mixft.runner.plan.sweepfile import load_sweep, recorded_runs
from mixft.runner.store.rows import run_row


def sweep_status(name: str, overrides: list[str] | None = None) -> list[dict[str, Any]]:
    """Status rows of every run a sweep holds (see `store.rows.run_row`), live states filled in.

    With `overrides`, the runs the sweep plans with them (as `mixft sweep NAME OVERRIDES` ran them),
    whichever the sweep ran last.

    Raises:
        ConfigError: the sweep has not run here (no overrides), or a bad sweep or override.
    """
    ids = [run.id for run in expand(load_sweep(name), overrides).runs] if overrides else recorded_runs(name)
    rows = [run_row(rid) for rid in ids]
    for executor in EXECUTORS.values():
        executor.live_states(rows)
    return rows
