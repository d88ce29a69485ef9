"""The confirmation: the predicted best trained again at a fresh seed, against that seed's baselines,
with compare's interval per target.

run: mixft search search_smoke    (the last block: "confirmation at seed 1")

The search picked its mixture because it scored (or was predicted to score) highest: that choice
makes its own scores optimistic, as with best-of-N. The confirmation run is trained at a seed the
search never used, so its deltas are an unbiased check of the pick. It is one seed, so its interval
follows compare's rule for one seed: each target's baselines at the search seed and at this one give a
pooled seed variance (1 degree of freedom: wide, and honest), else the interval is the eval rows' only
and claims nothing.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from mixft.runner.compare.intervals import SeedVariance, arm_variance, pool
from mixft.runner.compare.measure import measure, task_sample
from mixft.runner.compare.results import RunResult, TaskInfo, from_store
from mixft.runner.plan.candidates import Mixture, run_of
from mixft.runner.plan.grid import Plan
from mixft.runner.plan.search_spec import SearchSettings


@dataclass
class Confirmation:
    mixture: Mixture
    seed: int
    run_id: str
    # target -> delta, interval (low, high) or None, n_examples, metric
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def objective(self) -> float | None:
        """The confirmation's mean delta over the targets (or the objective target's delta)."""
        deltas = [row["delta"] for row in self.targets.values()]
        return statistics.fmean(deltas) if deltas else None

    def row(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "mixture": self.mixture.label(),
            "seed": self.seed,
            "run_id": self.run_id,
            "mean_delta": self.objective,
            "targets": self.targets,
        }


def confirm(
    plan: Plan, mixture: Mixture, seed: int, targets: list[str], settings: SearchSettings
) -> Confirmation:
    """Compare the confirmation run of `mixture` at `seed` with each target's baseline at that seed."""
    rid = run_of(plan, mixture, seed).id
    result = Confirmation(mixture, seed, rid)
    run = from_store(rid)
    chosen = targets if settings.objective == "mean_delta" else [settings.objective]
    for task in chosen:
        reference = from_store(run_of(plan, Mixture((task,)), seed).id)
        if run is None or reference is None or task not in run.scored:
            continue
        info = run.scored[task]
        pooled = baseline_seed_variance(plan, task, info, settings.metric)
        measured = measure(task, info, settings.metric, [run], [reference], pooled=pooled)
        if measured is None:
            continue
        interval = measured.interval
        result.targets[task] = {
            "metric": measured.metric,
            "delta": measured.delta,
            "interval": [interval.low, interval.high] if interval else None,
            "ci_method": interval.method if interval else None,
            "significant": interval.significant if interval else None,
            "n_examples": measured.n_examples,
        }
    return result


def baseline_seed_variance(plan: Plan, task: str, info: TaskInfo, metric: str) -> SeedVariance | None:
    """The seed variance of `task`'s baseline from its done runs at the plan's seeds (None below 2)."""
    seeds = sorted({run.config.seed for run in plan.runs if run.role != "base"})
    done: list[RunResult] = []
    for seed in seeds:
        try:
            found = from_store(run_of(plan, Mixture((task,)), seed).id)
        except KeyError:
            continue
        if found is not None and found.state == "done":
            done.append(found)
    sample = task_sample(task, info, metric, done) if len(done) >= 2 else None
    return pool([arm_variance(sample)]) if sample is not None else None
