"""Sweep files: find them, read them against a typed spec, and generate their task sets.

run: mixft plan smoke    (sweeps/smoke.yaml; any path to a .yaml file works too)
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mixft.runner.config.validate import check_types
from mixft.runner.config.yamlio import load_yaml
from mixft.runner.errors import ConfigError, did_you_mean, unknown

SWEEP_PACKAGE = "mixft.sweeps"
# Runs one sweep may plan (before filters): planning takes ~0.3 ms a run, so this is half a minute;
# anything larger is a typo (range(0,10**9)) or a study to split into several sweeps.
MAX_RUNS = 100_000


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
    try:
        path = Path(name_or_path).expanduser()
        is_file = path.is_file()
    except (OSError, RuntimeError) as exc:  # a name too long, "~nobody/x.yaml"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot use '{name_or_path}' as a sweep file: {reason}") from None
    if path.suffix in (".yaml", ".yml") or is_file or "/" in name_or_path:
        if not is_file:
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
    _refuse_interpolations(data, path)
    try:
        spec = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SweepSpec), data))
    except OmegaConfBaseException as exc:
        reason = (str(exc.msg).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"{path}: bad value for '{exc.full_key}': {reason}") from None
    assert isinstance(spec, SweepSpec)
    try:
        check_types(spec, SweepSpec)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return spec


def _refuse_interpolations(data: Any, path: Path, where: str = "") -> None:
    """OmegaConf would resolve `${...}` while reading the file: `${oc.env:HF_TOKEN}` in `base:` would
    put a secret into every run's saved overrides, and `${now:...}` would change run ids each plan."""
    if isinstance(data, str) and "${" in data:
        raise ConfigError(
            f"{path}: '{where}' holds an interpolation ({data!r}); write the value itself: a sweep's "
            "values are used as written, never taken from the environment or from other keys"
        )
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        child = f"{where}[{key}]" if isinstance(data, list) else f"{where}.{key}" if where else str(key)
        _refuse_interpolations(value, path, child)


def _leave_one_out(tasks: list[str], _: int | None) -> list[tuple[str, ...]]:
    # an exact set difference: leaving out finqa keeps convfinqa
    if len(tasks) < 2:
        return []
    return [tuple(t for t in tasks if t != left_out) for left_out in tasks]


GENERATORS: dict[str, Callable[[list[str], int | None], list[tuple[str, ...]]]] = {
    "singles": lambda tasks, _: [(t,) for t in tasks],
    "pairs": lambda tasks, _: list(itertools.combinations(tasks, 2)),
    "leave_one_out": _leave_one_out,
    "all": lambda tasks, _: [tuple(tasks)] if tasks else [],
    "subsets": lambda tasks, k: list(itertools.combinations(tasks, k or 0)),
}
# Sets each generator makes from n tasks, counted before any is made: subsets(20) of 40 tasks is 1.4e11.
SIZES: dict[str, Callable[[int, int], int]] = {
    "singles": lambda n, _: n,
    "pairs": lambda n, _: math.comb(n, 2),
    "leave_one_out": lambda n, _: n if n >= 2 else 0,
    "all": lambda n, _: 1 if n else 0,
    "subsets": math.comb,
}
_GENERATOR_CALL = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*(-?[0-9]+)\s*\))?\s*$")


def _generator(text: str, n: int) -> tuple[str, int | None]:
    """Name and argument of one generator, checked against the number of tasks."""
    match = _GENERATOR_CALL.match(text)
    name = match.group(1) if match else text
    if match is None or name not in GENERATORS:
        raise unknown("mixture generator", text, [*GENERATORS, "subsets(K)"])
    digits = match.group(2)
    if (digits is None) == (name == "subsets"):
        raise ConfigError(f"mixture generator '{text}': only subsets takes a number, as subsets(2)")
    # int() refuses 4,300 digits and more; any K that long is out of range anyway
    arg = int(digits) if digits is not None and len(digits) <= 9 else None
    if name == "subsets" and (arg is None or not 1 <= arg <= n):
        raise ConfigError(f"subsets(K) needs 1 <= K <= {n} (the number of tasks), got {digits}")
    return name, arg


def generate_sets(grid: MixtureGrid, known: Sequence[str] | None = None) -> list[tuple[str, ...]]:
    """Task sets of the mixture axis, each sorted, without repeats, in generator order.

    Args:
        grid: The sweep's `mixtures:`.
        known: Task names that exist; when given, `mixtures.tasks` and `sets` may name no other.

    Raises:
        ConfigError: a task named twice or unknown, a bad generator, or more than MAX_RUNS sets.
    """
    if len(set(grid.tasks)) != len(grid.tasks):
        twice = sorted(t for t, n in Counter(grid.tasks).items() if n > 1)
        raise ConfigError(f"mixtures.tasks lists {twice} more than once; name each task once")
    for name in grid.tasks if known is not None else ():
        if name not in known:
            raise unknown("task in mixtures.tasks", name, known)
    calls = [_generator(text, len(grid.tasks)) for text in grid.generators]
    count = sum(SIZES[name](len(grid.tasks), arg or 0) for name, arg in calls) + len(grid.sets)
    if count > MAX_RUNS:
        raise ConfigError(
            f"mixtures make {count:,} task sets, more than the {MAX_RUNS:,} runs one sweep may plan; "
            "use fewer tasks or smaller subsets(K)"
        )
    sets: list[tuple[str, ...]] = []
    for name, arg in calls:
        sets.extend(GENERATORS[name](list(grid.tasks), arg))
    for explicit in grid.sets:
        if len(set(explicit)) != len(explicit):
            raise ConfigError(f"mixtures.sets: {explicit} names a task twice")
        for name in explicit if known is not None else ():
            if name not in known:
                raise unknown("task in mixtures.sets", name, known)
        sets.append(tuple(explicit))
    unique = dict.fromkeys(tuple(sorted(s)) for s in sets if s)
    return list(unique)
