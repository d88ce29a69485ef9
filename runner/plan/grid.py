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
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from hydra.core.override_parser.types import ChoiceSweep, Glob, IntervalSweep, Override, RangeSweep

from mixft.runner.config.catalog import group_options
from mixft.runner.config.load import check_override, parse_overrides, shared_config
from mixft.runner.config.run import MemoDigest, eval_tasks, resolve, role_of, run_id, targets
from mixft.runner.config.schema import GROUPS, Config
from mixft.runner.config.validate import MAX_SEED, validate_run
from mixft.runner.errors import ConfigError
from mixft.runner.plan import sweepfile
from mixft.runner.plan.filters import check_filters, matches
from mixft.runner.plan.sweepfile import SweepSpec, generate_sets

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

    @property
    def overrides(self) -> list[str]:
        """Every override of the run: `load_config(run.overrides)` rebuilds `run.config`."""
        return [*self.hydra, *self.patch.overrides()]

    def row(self) -> dict[str, Any]:
        """The stable summary scripts read (`mixft plan --format json`)."""
        cfg = self.config
        return {
            "id": self.id,
            "model": cfg.model.name,
            "tasks": list(cfg.mixture.tasks),
            "regularizer": cfg.regularizer.name,
            "seed": cfg.seed,
            "role": self.role,
            "added": self.added,
            "training": cfg.training.name,
            "eval_tasks": eval_tasks(cfg),
            "overrides": self.overrides,
        }


@dataclass
class Plan:
    sweep: str
    runs: list[PlannedRun]


def _range_size(text: str, sweep: RangeSweep) -> int:
    """Values of range(START,STOP,STEP), counted without listing them (Hydra lists them lazily)."""
    bounds = (sweep.start, sweep.stop, sweep.step)
    if any(isinstance(b, float) and not math.isfinite(b) for b in bounds) or not sweep.step:
        raise ConfigError(f"'{text}': range() needs finite numbers and a step other than 0, as range(0,10,2)")
    if all(isinstance(b, int) for b in bounds):
        return len(range(*bounds))  # type: ignore[arg-type]
    start, stop, step = (Decimal(b) for b in bounds)  # exact, the way Hydra steps float ranges
    return max(0, math.ceil((stop - start) / step))


def _sweep_size(override: Override) -> int:
    """Values one axis override stands for; interval() has no list of values to run."""
    value = override.value()
    if isinstance(value, IntervalSweep):
        raise ConfigError(
            f"'{override.input_line}': interval() is a continuous range that a grid cannot list; "
            "use range(START,STOP,STEP) or a,b,c"
        )
    if isinstance(value, RangeSweep):
        return _range_size(override.input_line or "", value)
    return len(value.list) if isinstance(value, ChoiceSweep) else 1


def too_many(what: str, count: int) -> ConfigError:
    """The error for a grid that would plan more runs than MAX_RUNS."""
    return ConfigError(
        f"{what} would make {count:,} runs, more than the {sweepfile.MAX_RUNS:,} one sweep may plan; "
        "narrow its ranges, seeds or generators, or split it into several sweeps"
    )


def _axis_values(key: str, value: Any, label: str = "") -> list[str]:
    """Override strings of one axis, parsed with Hydra's grammar (a,b / range() / glob())."""
    label = label or f"grid axis '{key}'"
    if isinstance(value, list):
        texts = [f"{key}=[{','.join(map(str, v))}]" if isinstance(v, list) else f"{key}={v}" for v in value]
    else:
        texts = [f"{key}={value}"]
    parsed = parse_overrides(texts)
    for override in parsed:
        check_override(override, allow_sweep=True)
    count = sum(_sweep_size(o) for o in parsed)
    if count > sweepfile.MAX_RUNS:
        raise too_many(label, count)
    out: list[str] = []
    for override in parsed:
        element = override.get_key_element()
        if isinstance(override.value(), Glob):
            if key not in GROUPS:
                raise ConfigError(f"{label}: glob() picks options of a config group ({', '.join(GROUPS)})")
            out += [f"{element}={v}" for v in override.value().filter(list(group_options(key)))]
        elif override.is_sweep_override():
            out += [f"{element}={v}" for v in override.sweep_string_iterator()]
        else:
            out.append(f"{element}={override.get_value_element_as_str()}")
    if not out:
        raise ConfigError(f"{label} has no values")
    return out


# a whole number short enough for int() (which refuses 4,300 digits and more) and for a 32-bit seed
_WHOLE = re.compile(r"[0-9]{1,10}")


def _seed(value: Any) -> int | None:
    """A seed from a YAML value or an override's text; None when it is not a whole number."""
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED:
        return value
    return None


def _seeds(value: Any) -> list[int]:
    """Seeds from a list, a number or a Hydra sweep value such as "range(0,3)" or "1,2"."""
    if isinstance(value, list):
        raw = value
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        raw = [v.split("=", 1)[1] for v in _axis_values("seed", value, "seeds")]
    else:
        raw = [value]
    seeds = [_seed(v) for v in raw]
    if not seeds or None in seeds:
        raise ConfigError(f"seeds must be whole numbers from 0 to {MAX_SEED}, got {value!r}")
    return list(dict.fromkeys(s for s in seeds if s is not None))


def _axes(spec: SweepSpec, cli: Sequence[str]) -> tuple[list[str], dict[str, list[str]], list[int]]:
    """Base overrides, axes and seeds; a CLI override replaces the axis of its key."""
    base, grid, seeds = list(spec.base), dict(spec.grid), spec.seeds
    for override in parse_overrides(cli):
        check_override(override, allow_sweep=True)
        key = override.get_key_element()
        if key == "seed":
            seeds = override.get_value_string()
        elif key in grid or override.is_sweep_override():
            grid[key] = override.get_value_string()
        else:
            base.append(override.input_line or "")
    for key in grid:
        if key in ("seed", "mixture.tasks"):
            raise ConfigError(f"grid axis '{key}': use the sweep's `seeds:` or `mixtures:` instead")
    for override in parse_overrides(base):
        check_override(override)
    return base, {k: _axis_values(k, v) for k, v in grid.items()}, _seeds(seeds)


def _strip(overrides: Iterable[str], *prefixes: str) -> list[str]:
    """Overrides whose key does not start with any of `prefixes` (a group or its fields)."""

    def key(text: str) -> str:
        return text.split("=", 1)[0].lstrip("+~")

    return [o for o in overrides if not any(key(o) == p or key(o).startswith(p + ".") for p in prefixes)]


class _Planner:
    def __init__(self) -> None:
        self.digest = MemoDigest()
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
        return PlannedRun(run_id(cfg, self.digest), role_of(cfg), cfg, hydra, patch, axes, added)

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
    base, axes, seeds = _axes(spec, overrides)
    check_filters(spec.include + spec.exclude, axes)
    task_sets: list[tuple[str, ...] | None] = [None]
    if spec.mixtures is not None:
        task_sets = list(generate_sets(spec.mixtures, known=group_options("task")))
    count = math.prod(len(values) for values in axes.values()) * len(task_sets) * len(seeds)
    if count > sweepfile.MAX_RUNS:
        raise too_many(f"sweep '{spec.name}' ({' x '.join(_factors(axes, task_sets, seeds))})", count)
    planner = _Planner()
    for combo in itertools.product(*axes.values()):
        chosen = dict(zip(axes, (c.split("=", 1)[1] for c in combo), strict=False))
        for tasks, seed in itertools.product(task_sets, seeds):
            # checked once the filters keep it: a filter may leave out the runs that cannot be trained
            run = planner.make((*base, *combo), Patch(tasks, seed), chosen, check=False)
            if matches(run, spec.include, default=True) and not matches(run, spec.exclude, default=False):
                planner.check(run)
                planner.add(run)
    if spec.baselines:
        planner.add_baselines()
    if spec.base_model and planner.runs:
        planner.add_base_models()
    if not planner.runs:
        raise ConfigError(f"sweep '{spec.name}' plans no runs: its grid or filters leave nothing")
    return Plan(spec.name, sorted(planner.runs.values(), key=_order))


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
