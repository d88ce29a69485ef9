"""Sweep files: find them, read them against a typed spec, and generate their task sets.

run: mixft plan smoke    (sweeps/smoke.yaml; any path to a .yaml file works too)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mixft.runner.errors import ConfigError, did_you_mean, unknown
from mixft.runner.yamlio import load_yaml

SWEEP_PACKAGE = "mixft.sweeps"


@dataclass
class MixtureGrid:
    """Task sets for the mixture axis: generated from `tasks`, plus explicit `sets`."""

    # the tasks generators draw from
    tasks: list[str] = field(default_factory=list)
    # singles | pairs | leave_one_out | all | subsets(K)
    generators: list[str] = field(default_factory=list)
    # explicit task sets, added as they are
    sets: list[list[str]] = field(default_factory=list)


@dataclass
class SweepSpec:
    name: str = MISSING
    description: str = ""
    # overrides every run gets (Hydra grammar, one value each)
    base: list[str] = field(default_factory=list)
    # axes: override key -> Hydra sweep value ("a,b,c", "range(1,4)", "glob(*)"); cartesian product
    grid: dict[str, Any] = field(default_factory=dict)
    mixtures: MixtureGrid | None = None
    # seeds of every run: a list, or a Hydra sweep value such as "range(0,3)"
    seeds: Any = field(default_factory=lambda: [42])
    # keep only runs matching one of these filters (field -> value or list of values)
    include: list[dict[str, Any]] = field(default_factory=list)
    # then drop runs matching any of these
    exclude: list[dict[str, Any]] = field(default_factory=list)
    # add the single-task baseline of every mixture's scored tasks when the grid lacks it
    baselines: bool = True
    # evaluate the untuned model once per model, as a reference row
    base_model: bool = True


def packaged_sweeps() -> list[str]:
    """Names of the sweeps shipped in sweeps/."""
    folder = Path(str(files(SWEEP_PACKAGE)))
    return sorted(p.stem for p in folder.glob("*.yaml"))


def find_sweep(name_or_path: str) -> Path:
    """A packaged sweep name (`smoke`) or a path to a YAML file."""
    path = Path(name_or_path).expanduser()
    if path.suffix in (".yaml", ".yml") or path.is_file() or "/" in name_or_path:
        if not path.is_file():
            raise ConfigError(f"sweep file not found: {path}")
        return path
    names = packaged_sweeps()
    if name_or_path not in names:
        raise unknown("sweep", name_or_path, names)
    return Path(str(files(SWEEP_PACKAGE).joinpath(f"{name_or_path}.yaml")))


def load_sweep(name_or_path: str) -> SweepSpec:
    """Read a sweep file into a checked SweepSpec (unknown keys and wrong types are errors)."""
    path = find_sweep(name_or_path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping with at least `name:`")
    fields_ = list(SweepSpec.__dataclass_fields__)
    for key in data:
        if key not in fields_:
            raise ConfigError(
                f"{path}: unknown key '{key}'{did_you_mean(str(key), fields_)}; "
                f"a sweep has: {', '.join(fields_)}"
            )
    try:
        spec = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SweepSpec), data))
    except OmegaConfBaseException as exc:
        reason = str(exc.msg).strip().splitlines()[0]
        raise ConfigError(f"{path}: bad value for '{exc.full_key}': {reason}") from None
    assert isinstance(spec, SweepSpec)
    return spec


def _leave_one_out(tasks: list[str], _: int | None) -> list[tuple[str, ...]]:
    # an exact set difference: leaving out finqa keeps convfinqa
    if len(tasks) < 2:
        return []
    return [tuple(t for t in tasks if t != left_out) for left_out in tasks]


def _subsets(tasks: list[str], k: int | None) -> list[tuple[str, ...]]:
    if k is None or not 1 <= k <= len(tasks):
        raise ConfigError(f"subsets(K) needs 1 <= K <= {len(tasks)} (the number of tasks), got {k}")
    return list(itertools.combinations(tasks, k))


GENERATORS: dict[str, Callable[[list[str], int | None], list[tuple[str, ...]]]] = {
    "singles": lambda tasks, _: [(t,) for t in tasks],
    "pairs": lambda tasks, _: list(itertools.combinations(tasks, 2)),
    "leave_one_out": _leave_one_out,
    "all": lambda tasks, _: [tuple(tasks)] if tasks else [],
    "subsets": _subsets,
}
_GENERATOR_CALL = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*(-?\d+)\s*\))?\s*$")


def generate_sets(grid: MixtureGrid) -> list[tuple[str, ...]]:
    """Task sets of the mixture axis, each sorted, without repeats, in generator order."""
    if len(set(grid.tasks)) != len(grid.tasks):
        twice = sorted({t for t in grid.tasks if grid.tasks.count(t) > 1})
        raise ConfigError(f"mixtures.tasks lists {twice} more than once; name each task once")
    sets: list[tuple[str, ...]] = []
    for text in grid.generators:
        match = _GENERATOR_CALL.match(text)
        name = match.group(1) if match else text
        if match is None or name not in GENERATORS:
            raise unknown("mixture generator", text, [*GENERATORS, "subsets(K)"])
        arg = int(match.group(2)) if match.group(2) is not None else None
        if (arg is None) == (name == "subsets"):
            raise ConfigError(f"mixture generator '{text}': only subsets takes a number, as subsets(2)")
        sets.extend(GENERATORS[name](list(grid.tasks), arg))
    for explicit in grid.sets:
        if len(set(explicit)) != len(explicit):
            raise ConfigError(f"mixtures.sets: {explicit} names a task twice")
        sets.append(tuple(explicit))
    unique = dict.fromkeys(tuple(sorted(s)) for s in sets if s)
    return list(unique)
