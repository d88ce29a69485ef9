"""Every packaged sweep plans the runs it planned before runner/ was reorganised into pipeline stages:
the same overrides, roles and configs (snapshots/plans-before-layout.json.gz, taken at 22c4d92).

Each snapshot run is matched to a planned run by its override list, not by its id: store identity v2
(store/identity.py) changed every id by design, a run id is now `<training>-<evaluation>`, and
`mixft store migrate` moves old stores. The ids' own rules are tested in test_identity.py.

Four differences are intended, and nothing else may differ: the executor section is typed by
executor.name (config/executors.py), so a local run's config no longer carries the SLURM settings;
each task carries its typical sizes for cost estimates (`typical:`), which no run id includes; the
training section has `keep` (weights kept once trained) and the data section `max_rows` (a
rehearsal's cap), both left at their default (null) by every sweep. Later fields are left out the
same way: eval.suites (the lm-eval suites a sweep may add) and eval.engine (at its default, auto).
The tracker section is typed by tracker.name too (config/trackers.py), so tracker=none carries no
W&B settings. The tiny model's `num_parameters` (a label for cost estimates, in no id) was corrected
to the count of the model mixft builds.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from mixft.runner.plan.grid import PlannedRun, expand
from mixft.runner.plan.sweepfile import load_sweep
from tests.unit.helpers import grid_sweeps

# the tiny model mixft builds has 426,624 parameters (plan/memory.py's model_parameters counts them
# from its shape); the snapshot's conf/model/tiny.yaml said 139,584
TINY_PARAMETERS, TINY_PARAMETERS_BEFORE = 426_624, 139_584
SNAPSHOT = json.loads(
    gzip.decompress((Path(__file__).parent / "snapshots" / "plans-before-layout.json.gz").read_bytes())
)


def digest(value: object) -> str:
    """How the snapshot digested each config section."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def sections(config: dict) -> dict[str, str]:
    """Digests of every section but the executor (and the suites), with tasks and training as the
    snapshot's schema had them."""
    tasks = {name: {k: v for k, v in task.items() if k != "typical"} for name, task in config["task"].items()}
    assert config["training"]["keep"] is None  # no packaged sweep sets it
    training = {k: v for k, v in config["training"].items() if k != "keep"}
    assert config["data"]["max_rows"] is None  # only a rehearsal sets it
    data = {k: v for k, v in config["data"].items() if k != "max_rows"}
    # suites came later: a sweep that scores them plans what it planned before, plus the suites
    assert set(config["suite"]) == set(config["eval"]["suites"])
    # a model's shape came later: a label for memory estimates, outside every identity
    model = {k: v for k, v in config["model"].items() if k != "shape"}
    if model["name"] == "tiny":  # its parameter count, a label for cost estimates, was corrected
        assert model["num_parameters"] == TINY_PARAMETERS
        model["num_parameters"] = TINY_PARAMETERS_BEFORE
    new = {"task": tasks, "training": training, "data": data, "model": model}
    assert config["eval"]["engine"] == "auto"  # the generation engine came later, at its default
    new["eval"] = {k: v for k, v in config["eval"].items() if k not in ("suites", "engine")}
    # the tracker section is typed by tracker.name (config/trackers.py): tracker=none no longer
    # carries W&B's settings, which the snapshot has at their defaults
    new["tracker"] = {"project": "mixft", "entity": None, "mode": "auto"} | config["tracker"]
    return {k: digest(new.get(k, v)) for k, v in config.items() if k not in ("executor", "suite")}


def overrides_before_suites(run: PlannedRun) -> tuple[str, ...]:
    """A run's overrides less the `eval.suites=` a sweep added after the snapshot was taken."""
    return tuple(o for o in run.overrides if not o.startswith("eval.suites="))


def test_the_snapshot_covers_every_packaged_sweep():
    assert set(SNAPSHOT) == set(grid_sweeps())


@pytest.mark.parametrize("name", sorted(SNAPSHOT))
def test_a_packaged_sweep_plans_what_it_planned_before(name):
    before = {tuple(old["overrides"]): old for old in SNAPSHOT[name].values()}
    assert len(before) == len(SNAPSHOT[name])  # an override list names one run
    plan = expand(load_sweep(name))
    assert sorted(map(overrides_before_suites, plan.runs)) == sorted(before)
    for run in plan.runs:
        old = before[overrides_before_suites(run)]
        config = dataclasses.asdict(run.config)
        assert (run.role, run.added) == (old["role"], old["added"]), run.overrides
        assert sections(config) == old["sections"], run.overrides
        executor = config["executor"]
        # packing came later, at its defaults: one run a GPU, each GPU's memory from nvidia-smi
        assert (executor.pop("runs_per_gpu", 1), executor.pop("gpu_memory_gb", None)) == (1, None)
        assert executor.pop("procs_per_run", 1) == 1  # came later too: one process a CPU run
        assert set(executor) <= set(old["executor"])  # the other executors' settings are gone
        assert executor == {k: old["executor"][k] for k in executor}, run.overrides  # 240 == 240.0
