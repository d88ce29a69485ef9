"""Pooled seed variance: what arms that ran at several seeds say of how much one run moves with its
seed, for the comparisons that have one seed.

run: mixft compare cocktail_paper    (a sweep with `calibration_seeds: 3` runs its baselines at 3 seeds)

An arm is a set of done runs that differ only in their seed (pairing.seed_groups). Each arm with two
or more seeds that scored a task gives that task's seed variance of one run, with seeds − 1 degrees
of freedom (intervals.arm_variance); the arms of one pairing context (model, recipe, data and eval
settings) pool on each task. Tasks do not pool with each other: how much a score moves with the seed
depends on the task (and its accuracy level). Using the pool assumes a mixture's seed variance on a
task is the baselines': docs/compare.md says so.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from mixft.runner.compare.intervals import SeedVariance, arm_variance, pool
from mixft.runner.compare.results import RunResult
from mixft.runner.compare.stats import Sample

# (an arm's runs, what they are scored on) -> their sample, or None when they were not all scored on it
SampleOf = Callable[[list[RunResult], Any], Sample | None]


class SeedPools:
    """Pooled seed variances per (pairing context, task), each computed on first use."""

    def __init__(self, arms: list[list[RunResult]], sample_of: SampleOf) -> None:
        self.arms: dict[str, list[list[RunResult]]] = {}
        for arm in arms:
            done = [r for r in arm if r.state == "done" and r.role != "base"]
            if len(done) >= 2:
                self.arms.setdefault(done[0].context, []).append(done)
        self.sample_of = sample_of
        self.found: dict[tuple[str, Hashable], SeedVariance | None] = {}

    def get(self, context: str, what: Hashable) -> SeedVariance | None:
        """The pooled seed variance of one run in `context` on `what` (a task, or a suite task)."""
        key = (context, what)
        if key not in self.found:
            samples = (self.sample_of(arm, what) for arm in self.arms.get(context, []))
            self.found[key] = pool(arm_variance(s) for s in samples if s is not None)
        return self.found[key]
