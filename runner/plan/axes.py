"""A sweep's axes: Hydra's sweep grammar (a,b,c / range() / glob()) read into override lists, counted
before they are listed, and its seeds.

run: mixft plan cocktail_paper model=phi3_mini,mistral_7b seed=0,1    (a CLI override replaces an axis)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hydra.core.override_parser.types import ChoiceSweep, Glob, IntervalSweep, Override, RangeSweep

from mixft.runner.config.catalog import group_options
from mixft.runner.config.overrides import check_override, parse_overrides
from mixft.runner.config.schema import GROUPS
from mixft.runner.config.validate import MAX_SEED
from mixft.runner.errors import ConfigError
from mixft.runner.plan import sweepfile
from mixft.runner.plan.sweepfile import SweepSpec


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
    """The error for a grid that would plan more runs than one sweep may (sweepfile.MAX_RUNS)."""
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


def sweep_axes(spec: SweepSpec, cli: Sequence[str]) -> tuple[list[str], dict[str, list[str]], list[int]]:
    """Base overrides, axes (key -> override strings) and seeds; a CLI override replaces the axis of its key."""
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
        if key.split(".")[0] == "executor":  # not in run ids: the runs would collapse into one
            raise ConfigError(
                f"grid axis '{key}': every run of a sweep runs on one executor; set it in `base:` "
                "or on the command line with one value"
            )
    for override in parse_overrides(base):
        check_override(override)
    return base, {k: _axis_values(k, v) for k, v in grid.items()}, _seeds(seeds)
