"""Sweep files: find them, read them against a typed spec, and generate their task sets.

run: mixft plan smoke    (sweeps/smoke.yaml of a project folder or of mixft; any path to a .yaml file too)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mixft.runner.config.search_path import sweep_origins
from mixft.runner.config.types import check_types
from mixft.runner.config.yamlio import bad_field, key_line, load_yaml
from mixft.runner.errors import ConfigError, did_you_mean, unknown
from mixft.runner.paths import store_root
from mixft.runner.plan.search_spec import SearchSettings
from mixft.runner.store.sweeps import recorded_ids

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
    # run every single-task baseline at this many seeds (the sweep's seeds, then the next ones up):
    # their spread gives compare a seed variance, so one-seed mixtures get intervals that can claim
    calibration_seeds: int = 0
    # a search (plan/search_spec.py): `mixft search` looks for the best mixture of mixtures.tasks
    search: SearchSettings | None = None


def find_sweep(name_or_path: str) -> Path:
    """A sweep name (`smoke`; a project folder's sweeps/ first, then mixft's) or a path to a YAML file."""
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
    found = sweep_origins()
    if name_or_path not in found:
        raise unknown("sweep", name_or_path, found)
    return found[name_or_path][0]


def load_sweep(name_or_path: str) -> SweepSpec:
    """Read a sweep file into a checked SweepSpec (unknown keys and wrong types are errors)."""
    path = find_sweep(name_or_path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping with at least `name:`")
    fields_ = list(SweepSpec.__dataclass_fields__)
    for key in data:
        if key not in fields_:
            line = key_line(path, str(key))
            raise ConfigError(
                f"{path}{f':{line}' if line else ''}: unknown key '{key}'{did_you_mean(str(key), fields_)}; "
                f"a sweep has: {', '.join(fields_)}"
            )
    _refuse_interpolations(data, path)
    try:
        spec = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SweepSpec), data))
    except OmegaConfBaseException as exc:
        raise ConfigError(bad_field(path, exc)) from None
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


def recorded_runs(name: str) -> list[str]:
    """Run ids a sweep recorded when it last ran (`mixft sweep`).

    Args:
        name: The sweep's name as recorded in the store, or a sweep file (path or packaged name).

    Raises:
        ConfigError: no such sweep, or it has not run in this store.
    """
    ids = recorded_ids(name)
    if ids is None:
        ids = recorded_ids(load_sweep(name).name)
    if ids is None:
        raise ConfigError(
            f"sweep '{name}' has not run in this store ({store_root()}); start it with `mixft sweep {name}`"
        )
    return ids
