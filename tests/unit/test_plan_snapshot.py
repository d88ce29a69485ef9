"""Every packaged sweep plans the runs it planned before runner/ was reorganised into pipeline stages:
the same ids, roles, overrides and configs (snapshots/plans-before-layout.json.gz, taken at 22c4d92).

Two differences are intended, and nothing else may differ: the executor section is typed by
executor.name (config/executors.py), so a local run's config no longer carries the SLURM settings;
and each task carries its typical sizes for cost estimates (`typical:`), which no run id includes.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from mixft.runner.plan.grid import expand
from mixft.runner.plan.sweepfile import load_sweep, packaged_sweeps

SNAPSHOT = json.loads(
    gzip.decompress((Path(__file__).parent / "snapshots" / "plans-before-layout.json.gz").read_bytes())
)


def digest(value: object) -> str:
    """How the snapshot digested each config section."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def sections(config: dict) -> dict[str, str]:
    """Digests of every section but the executor, with tasks as the snapshot's schema had them."""
    tasks = {name: {k: v for k, v in task.items() if k != "typical"} for name, task in config["task"].items()}
    return {k: digest(tasks if k == "task" else v) for k, v in config.items() if k != "executor"}


def test_the_snapshot_covers_every_packaged_sweep():
    assert set(SNAPSHOT) == set(packaged_sweeps())


@pytest.mark.parametrize("name", sorted(SNAPSHOT))
def test_a_packaged_sweep_plans_what_it_planned_before(name):
    before = SNAPSHOT[name]
    plan = expand(load_sweep(name))
    assert sorted(run.id for run in plan.runs) == sorted(before)
    for run in plan.runs:
        old = before[run.id]
        config = dataclasses.asdict(run.config)
        assert (run.role, run.added, run.overrides) == (old["role"], old["added"], old["overrides"]), run.id
        assert sections(config) == old["sections"], run.id
        executor = config["executor"]
        assert set(executor) <= set(old["executor"])  # the other executors' settings are gone
        assert executor == {k: old["executor"][k] for k in executor}, run.id  # 240 == 240.0
