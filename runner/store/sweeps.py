"""The sweep index: which runs each sweep holds ($MIXFT_HOME/sweeps/<name>.json).

run: mixft sweep smoke    then    mixft status smoke    (status reads the record the sweep wrote)

A run directory is shared by every sweep that plans the same run; the record says which ones a
sweep held when it last ran, so `status` and `compare` read those and no others.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mixft.runner.config.schema import Config
from mixft.runner.paths import sweeps_root
from mixft.runner.store import rundir
from mixft.runner.store.atomic import read_json, write_json
from mixft.runner.store.status import now

# (run id, resolved config, overrides, role, training facts) of one planned run
PlannedFiles = tuple[str, Config, list[str], str, dict[str, Any]]


def record_sweep(name: str, runs: Iterable[PlannedFiles]) -> list[str]:
    """Write every run's folders (pending if new), then the sweep's record; returns the run ids."""
    ids = []
    for rid, cfg, overrides, role, facts in runs:
        rundir.write_planned(rid, cfg, overrides, role, name, facts)
        ids.append(rid)
    write_json(record_path(name), {"name": name, "updated": now(), "runs": ids})
    return ids


def record_path(name: str) -> Path:
    """Where a sweep's record lives."""
    return sweeps_root() / f"{name}.json"


def recorded_ids(name: str) -> list[str] | None:
    """Run ids of a sweep when it last ran here; None when it never has (or its record is torn)."""
    record = read_json(record_path(name)) if "/" not in name else None
    runs = record.get("runs") if record else None
    return [str(r) for r in runs] if isinstance(runs, list) else None
