"""Runs of explicit mixtures, as a search proposes them: tasks with optional shares, at given seeds.

run: mixft search search_smoke    (each round plans its candidates here, then runs them as a sweep)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from mixft.runner.plan.grid import Patch, Plan, PlannedRun, Planner


@dataclass(frozen=True)
class Mixture:
    """A candidate: its tasks (sorted) and, for two or more, each one's share (sums to 1); no shares:
    the tasks' own sizes (as a sweep's task sets)."""

    tasks: tuple[str, ...]
    shares: tuple[float, ...] = field(default=())

    def share_of(self, task: str) -> float:
        """The task's fraction of the mix (equal parts without shares; 0 when not in it)."""
        if task not in self.tasks:
            return 0.0
        return self.shares[self.tasks.index(task)] if self.shares else 1 / len(self.tasks)

    def overrides(self) -> list[str]:
        """Overrides of a mix with shares (a patch sets the tasks of any other)."""
        if not self.shares or len(self.tasks) < 2:
            return []
        # the tasks too: composition checks the shares against them, before a patch could set them
        shares = [f"+mixture.shares.{t}={s:g}" for t, s in zip(self.tasks, self.shares, strict=True)]
        return [f"mixture.tasks=[{','.join(self.tasks)}]", *shares]

    def label(self) -> str:
        """ "fpb 0.6 + headline 0.4", or "fpb + headline" with equal parts."""
        if not self.shares or len(self.tasks) < 2:
            return " + ".join(self.tasks)
        return " + ".join(f"{t} {s:g}" for t, s in zip(self.tasks, self.shares, strict=True))


def run_of(plan: Plan, mixture: Mixture, seed: int) -> PlannedRun:
    """The plan's run that trains `mixture` at `seed`.

    Raises:
        KeyError: the plan holds no such run.
    """
    shares = (
        {t: mixture.share_of(t) for t in mixture.tasks} if len(mixture.tasks) > 1 and mixture.shares else {}
    )
    for run in plan.runs:
        cfg = run.config
        same = tuple(cfg.mixture.tasks) == mixture.tasks and dict(cfg.mixture.shares) == shares
        if run.role != "base" and cfg.seed == seed and same:
            return run
    raise KeyError(f"no run of {mixture.label()} at seed {seed} in sweep '{plan.sweep}'")


def plan_mixtures(
    name: str,
    base: Sequence[str],
    mixtures: Iterable[Mixture],
    seeds: Sequence[int],
    baselines: Iterable[str] | None = (),
    extra: Callable[[Mixture], list[str]] | None = None,
) -> Plan:
    """The runs of `mixtures` at each seed, the single-task baselines of their targets and of
    `baselines` at the same seeds, and the base-model rows: a sweep's plan, ready to run.

    `baselines=None` plans the mixtures alone (no baselines, no base model); `extra(mixture)` gives
    overrides of a mixture's own runs (a shorter training).

    Raises:
        ConfigError: a mixture no run could train (unknown task, a share out of range).
    """
    planner = Planner()
    for mix in mixtures:
        for seed in seeds:
            own = extra(mix) if extra else []
            run = planner.make((*base, *mix.overrides(), *own), Patch(mix.tasks, seed), {}, check=False)
            planner.check(run)
            planner.add(run)
    if baselines is None:
        return planner.plan(name)
    untrained = planner.untrained(tuple(base))
    for task in baselines:
        for seed in seeds:
            if (untrained, task, seed) not in planner.made:
                planner.made.add((untrained, task, seed))
                planner.add(planner.make(untrained, Patch((task,), seed), {}, added=True))
    planner.add_baselines()
    planner.add_base_models()
    return planner.plan(name)
