"""Expand a sweep into planned runs: axes x task sets x seeds, filtered, plus baselines and base rows.

run: mixft plan cocktail_paper --format json

Hydra composes each distinct list of axis overrides once; task sets and seeds, the axes that make
grids large, are then set on the composed dataclasses directly. Every planned run keeps the full
override list, and `load_config(run.overrides)` rebuilds exactly its config (a test checks this).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from mixft.runner.config.catalog import group_options
from mixft.runner.config.executors import ExecutorConfig
from mixft.runner.config.load import shared_config
from mixft.runner.config.run import eval_tasks, resolve, role_of, summary, targets, used_tasks
from mixft.runner.config.schema import Config
from mixft.runner.config.validate import validate_run
from mixft.runner.data.samples import check_sample_tasks
from mixft.runner.data.sources import from_samples
from mixft.runner.errors import ConfigError
from mixft.runner.plan import sweepfile
from mixft.runner.plan.axes import sweep_axes, too_many
from mixft.runner.plan.filters import check_filters, matches
from mixft.runner.plan.generators import generate_sets
from mixft.runner.plan.ids import Identifier, RunIds
from mixft.runner.plan.sweepfile import SweepSpec

ROLE_ORDER = {"base": 0, "baseline": 1, "mixture": 2}


@dataclass(frozen=True)
class Patch:
    """Values set on a composed config without composing again: the axes that make grids large."""

    tasks: tuple[str, ...] | None = None
    seed: int | None = None
    eval_tasks: tuple[str, ...] | None = None

    def patched(self, cfg: Config) -> Config:
        """The config with the patch's values set, not yet checked."""
        changes: dict[str, Any] = {}
        if self.tasks is not None:
            changes["mixture"] = dataclasses.replace(cfg.mixture, tasks=list(self.tasks))
        if self.eval_tasks is not None:
            changes["eval"] = dataclasses.replace(cfg.eval, tasks=list(self.eval_tasks))
        if self.seed is not None:
            changes["seed"] = self.seed
        return dataclasses.replace(cfg, **changes)

    def apply(self, cfg: Config, check: bool = True) -> Config:
        """The patched, checked (unless `check` is false) and resolved config."""
        patched = self.patched(cfg)
        if check:
            validate_run(patched)
        return resolve(patched)

    def overrides(self) -> list[str]:
        """The same values as overrides, so that load_config rebuilds the patched config."""
        out = []
        if self.tasks is not None:
            out.append(f"mixture.tasks=[{','.join(self.tasks)}]")
        if self.eval_tasks is not None:
            out.append(f"eval.tasks=[{','.join(self.eval_tasks)}]")
        if self.seed is not None:
            out.append(f"seed={self.seed}")
        return out


@dataclass
class PlannedRun:
    # `<training>-<evaluation>` (plan/ids.py)
    id: str
    role: str
    # resolved: task lists sorted, catalogue cut to the tasks the run uses
    config: Config
    # overrides Hydra composed, then the values set on the composed config
    hydra: tuple[str, ...]
    patch: Patch
    # the grid override of each axis, for filters
    axes: dict[str, str]
    # a baseline or base-model row the sweep added itself
    added: bool = False
    # the training's id, recipe and data files
    ids: RunIds | None = None
    # a baseline at a further seed, for compare's seed variance (a sweep's calibration_seeds)
    calibration: bool = False

    @property
    def training(self) -> str:
        """The id of the training this run evaluates (runs/<training>/)."""
        return self.id.partition("-")[0]

    @property
    def overrides(self) -> list[str]:
        """Every override of the run: `load_config(run.overrides)` rebuilds `run.config`."""
        return [*self.hydra, *self.patch.overrides()]

    def row(self) -> dict[str, Any]:
        """The stable summary scripts read (`mixft plan --format json`)."""
        cfg = self.config
        return {
            "id": self.id,
            "training": self.training,
            **summary(cfg, self.role),
            "added": self.added,
            "calibration": self.calibration,
            "recipe": cfg.training.name,
            "eval_tasks": eval_tasks(cfg),
            "overrides": self.overrides,
        }


@dataclass
class Plan:
    sweep: str
    runs: list[PlannedRun]

    def executor(self) -> ExecutorConfig:
        """The executor settings every run of the plan shares (the sweep's `executor=`, `executor.*`).

        Raises:
            ConfigError: the plan is empty, or its runs disagree (an executor setting as a grid axis).
        """
        if not self.runs:
            raise ConfigError(f"sweep '{self.sweep}' has no runs to execute")
        first = self.runs[0].config.executor
        if any(run.config.executor != first for run in self.runs):
            raise ConfigError(
                f"sweep '{self.sweep}': its runs use different executor settings; set executor and "
                "executor.* in the sweep's base (or on the command line), not as a grid axis"
            )
        return first

    def only(self, runs: list[PlannedRun]) -> Plan:
        """The same sweep with only these runs."""
        return Plan(self.sweep, runs)


def _strip(overrides: Iterable[str], *prefixes: str) -> list[str]:
    """Overrides whose key does not start with any of `prefixes` (a group or its fields)."""

    def key(text: str) -> str:
        return text.split("=", 1)[0].lstrip("+~")

    return [o for o in overrides if not any(key(o) == p or key(o).startswith(p + ".") for p in prefixes)]


class Planner:
    """Makes runs from overrides and patches once each, and adds the baselines and base-model rows."""

    def __init__(self) -> None:
        self.identify = Identifier()
        self.runs: dict[str, PlannedRun] = {}
        # baselines already made, by (overrides..., task, seed): most mixtures share them
        self.made: set[tuple[Any, ...]] = set()

    def make(
        self,
        hydra: tuple[str, ...],
        patch: Patch,
        axes: dict[str, str],
        added: bool = False,
        check: bool = True,
    ) -> PlannedRun:
        cfg = patch.apply(shared_config(hydra), check)
        ids = self.identify(cfg)
        return PlannedRun(ids.run, role_of(cfg), cfg, hydra, patch, axes, added, ids)

    @staticmethod
    def check(run: PlannedRun) -> None:
        """Check a grid run that the filters kept; the error names the run, which a filter can drop."""
        try:
            validate_run(run.patch.patched(shared_config(run.hydra)))
        except ConfigError as exc:
            where = ", ".join([*(f"{k}={v}" for k, v in run.axes.items()), *run.patch.overrides()])
            raise ConfigError(f"{exc} (grid run {where}; an `exclude:` filter can leave it out)") from None

    def add(self, run: PlannedRun) -> None:
        self.runs.setdefault(run.id, run)

    @staticmethod
    @cache
    def untrained(hydra: tuple[str, ...]) -> tuple[str, ...]:
        """Overrides without the regulariser (set to none where the default is not) or shares."""
        kept = _strip(hydra, "regularizer", "mixture.shares")
        if shared_config(kept).regularizer.sources:
            kept.append("regularizer=none")
        return tuple(kept)

    def add_baselines(self) -> None:
        for run in list(self.runs.values()):
            if run.role != "mixture":
                continue
            hydra, seed = self.untrained(run.hydra), run.config.seed
            for task in targets(run.config):
                if (hydra, task, seed) not in self.made:
                    self.made.add((hydra, task, seed))
                    self.add(self.make(hydra, Patch((task,), seed), run.axes, added=True))

    def add_calibration(self, count: int, seeds: list[int]) -> None:
        """Every single-task baseline also at the seeds that bring it to `count`: the sweep's seeds
        first, then the next ones above them."""
        extra = [*seeds, *range(max(seeds) + 1, max(seeds) + 1 + count)][:count]
        for run in list(self.runs.values()):
            if run.role != "baseline" or not targets(run.config):  # a source nothing scores: no variance
                continue
            task = run.config.mixture.tasks[0]
            for seed in extra:
                if (run.hydra, task, seed) not in self.made and seed != run.config.seed:
                    self.made.add((run.hydra, task, seed))
                    made = self.make(run.hydra, Patch((task,), seed), run.axes, added=True)
                    if made.id not in self.runs:
                        self.add(dataclasses.replace(made, calibration=True))

    def plan(self, name: str) -> Plan:
        """The runs made so far as a plan, their sample-suite tasks checked before any run starts."""
        for run in self.runs.values():
            cfg = run.config
            if cfg.data.samples:
                check_sample_tasks(t for t in used_tasks(cfg) if from_samples(cfg.task[t], cfg.data))
        return Plan(name, sorted(self.runs.values(), key=_order))

    def add_base_models(self) -> None:
        scored: dict[tuple[str, ...], set[str]] = {}
        for run in self.runs.values():
            scored.setdefault(self.untrained(run.hydra), set()).update(eval_tasks(run.config))
        for hydra, tasks in scored.items():
            self.add(self.make(hydra, Patch(tasks=(), eval_tasks=tuple(sorted(tasks))), {}, added=True))


def expand(spec: SweepSpec, overrides: Sequence[str] = ()) -> Plan:
    """Expand a sweep into its runs.

    Args:
        spec: The sweep file, read by `load_sweep`.
        overrides: Extra overrides: one that names a grid axis (or several values) replaces or
            adds that axis; `seed=` replaces the seeds; any other joins the base overrides.

    Returns:
        The plan: grid runs that pass the filters, then the baselines and base-model rows added.
    """
    if spec.search is not None:
        raise ConfigError(
            f"'{spec.name}' is a search (its `search:` section): run it with `mixft search {spec.name}`"
        )
    base, axes, seeds = sweep_axes(spec, overrides)
    check_filters(spec.include + spec.exclude, axes)
    task_sets: list[tuple[str, ...] | None] = [None]
    if spec.mixtures is not None:
        task_sets = list(generate_sets(spec.mixtures, known=group_options("task")))
    count = math.prod(len(values) for values in axes.values()) * len(task_sets) * len(seeds)
    if count > sweepfile.MAX_RUNS:
        raise too_many(f"sweep '{spec.name}' ({' x '.join(_factors(axes, task_sets, seeds))})", count)
    planner = Planner()
    for combo in itertools.product(*axes.values()):
        chosen = dict(zip(axes, (c.split("=", 1)[1] for c in combo), strict=False))
        for tasks, seed in itertools.product(task_sets, seeds):
            # checked once the filters keep it: a filter may leave out the runs that cannot be trained
            run = planner.make((*base, *combo), Patch(tasks, seed), chosen, check=False)
            if matches(run, spec.include, default=True) and not matches(run, spec.exclude, default=False):
                planner.check(run)
                planner.add(run)
    if not planner.runs:
        raise ConfigError(f"sweep '{spec.name}' plans no runs: its grid or filters leave nothing")
    if all(run.role == "base" for run in planner.runs.values()):
        raise ConfigError(
            f"sweep '{spec.name}' trains nothing: give it `mixtures:`, or mixture.tasks=[...] in `base:` "
            "(to score a model alone, use `mixft run model=NAME`)"
        )
    if spec.baselines:
        planner.add_baselines()
    if spec.calibration_seeds < 0:
        raise ConfigError(
            f"sweep '{spec.name}': calibration_seeds must be 0 or more, got {spec.calibration_seeds}"
        )
    if spec.calibration_seeds > 1:
        planner.add_calibration(spec.calibration_seeds, seeds)
    if spec.base_model:
        planner.add_base_models()
    return planner.plan(spec.name)


def _factors(axes: dict[str, list[str]], task_sets: list[Any], seeds: list[int]) -> list[str]:
    """The sizes that multiply into a grid's run count, named: "4 model x 55 task sets x 3 seeds"."""
    return [f"{len(v)} {k}" for k, v in axes.items()] + [f"{len(task_sets)} task sets", f"{len(seeds)} seeds"]


def _order(run: PlannedRun) -> tuple[Any, ...]:
    cfg = run.config
    return (
        cfg.model.name,
        ROLE_ORDER[run.role],
        len(cfg.mixture.tasks),
        cfg.mixture.tasks,
        cfg.regularizer.name,
        cfg.training.name,
        cfg.seed,
        run.id,
    )
