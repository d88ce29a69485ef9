"""`mixft sweep`'s options as what they stand for: overrides of the executor's settings, and a filter.

run: mixft sweep smoke --gpus none --max-parallel 2    (the same as executor.gpus=none executor.max_parallel=2)

`--executor NAME` is `executor=NAME`, and each option is `executor.<setting>=VALUE`: one truth, the
composed config, so a run's saved overrides say where and how it ran.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mixft.runner.config.executors import executor_fields
from mixft.runner.config.load import chosen_executor
from mixft.runner.config.overrides import parse_overrides
from mixft.runner.errors import ConfigError
from mixft.runner.plan.filters import check_filters, matches, parse_only
from mixft.runner.plan.grid import Plan, expand
from mixft.runner.plan.sweepfile import load_sweep
from mixft.runner.store.migrate import old_layout_error, old_runs


def _value(value: Any) -> str:
    """A value as Hydra's grammar reads it back: text quoted (0-3,6 would be a sweep), numbers as is."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def executor_overrides(executor: str | None, options: Mapping[str, Any]) -> list[str]:
    """Overrides for `--executor NAME` and each executor option given (None: not given)."""
    out = [f"executor={executor}"] if executor is not None else []
    return out + [f"executor.{key}={_value(value)}" for key, value in options.items() if value is not None]


def _check_options(base: Sequence[str], overrides: Sequence[str], options: Mapping[str, Any]) -> None:
    """Each option given must be a setting of the executor the overrides pick."""
    executor = chosen_executor(parse_overrides([*base, *overrides]))
    known = executor_fields(executor)
    for key, value in options.items():
        if value is not None and key not in known:
            raise ConfigError(
                f"--{key.replace('_', '-')} is not a setting of executor {executor}; "
                f"its settings: {', '.join(known)}"
            )


def planned(
    name: str,
    overrides: Sequence[str],
    executor: str | None = None,
    options: Mapping[str, Any] | None = None,
    only: str | None = None,
) -> Plan:
    """The sweep's plan with `overrides` and the executor options, cut to the runs `--only` matches.

    Args:
        name: A packaged sweep name or a sweep file.
        overrides: Overrides, as for `mixft plan`.
        executor: `--executor NAME`, or None.
        options: `--gpus` and the other executor options by setting name (None: not given).
        only: An `--only` filter, or None.

    Raises:
        ConfigError: a bad sweep, override or filter, an option the executor does not have, or an
            `--only` filter that matches no run.
    """
    spec = load_sweep(name)
    old = old_runs()
    if old:
        raise ConfigError(old_layout_error(len(old)))
    overrides = [*overrides, *executor_overrides(executor, {})]
    _check_options(spec.base, overrides, options or {})
    plan = expand(spec, [*overrides, *executor_overrides(None, options or {})])
    if only is None:
        return plan
    flt = parse_only(only)
    check_filters([flt], [])
    kept = [run for run in plan.runs if matches(run, [flt], default=True)]
    if not kept:
        raise ConfigError(
            f"--only {only!r} matches none of the {len(plan.runs)} runs of sweep '{plan.sweep}'"
        )
    return plan.only(kept)
