"""Include/exclude filters of a sweep: which grid runs to keep.

run: mixft plan cocktail_paper    (sweeps may say `exclude: [{model: mistral_7b, size: 9}]`)

A filter maps fields to a wanted value or a list of accepted values; a run matches when every field
does. Fields: model, regularizer, training, eval, role, seed, size (number of tasks), tasks (the
exact set), contains (tasks that must all be in the set), and any grid axis key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mixft.runner.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from mixft.runner.plan.grid import PlannedRun

FIELDS = ("id", "model", "regularizer", "training", "eval", "role", "seed", "size", "tasks", "contains")


def check_filters(filters: Iterable[dict[str, Any]], axes: Iterable[str]) -> None:
    """Reject a filter field that no run has."""
    known = [*FIELDS, *axes]
    for flt in filters:
        for key in flt:
            if key not in known:
                raise ConfigError(
                    f"unknown filter field '{key}'{did_you_mean(str(key), known)}; "
                    f"filters can use: {', '.join(known)}"
                )


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _field_matches(run: PlannedRun, key: str, wanted: Any) -> bool:
    cfg = run.config
    tasks = set(cfg.mixture.tasks)
    if key == "tasks":
        return tasks == {str(t) for t in _as_list(wanted)}
    if key == "contains":
        return {str(t) for t in _as_list(wanted)} <= tasks
    facts = {
        "id": run.id,
        "model": cfg.model.name,
        "regularizer": cfg.regularizer.name,
        "training": cfg.training.name,
        "eval": cfg.eval.name,
        "role": run.role,
        "seed": cfg.seed,
        "size": len(tasks),
    }
    have = facts[key] if key in facts else run.axes.get(key)
    return str(have) in {str(w) for w in _as_list(wanted)}


def matches(run: PlannedRun, filters: list[dict[str, Any]], default: bool) -> bool:
    """True when any filter matches the run; `default` when there are no filters."""
    if not filters:
        return default
    return any(all(_field_matches(run, k, v) for k, v in flt.items()) for flt in filters)


def parse_only(text: str) -> dict[str, Any]:
    """`--only` text -> a filter: "role=baseline,contains=fpb" or "model=a|b" (| separates accepted values)."""
    flt: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise ConfigError(
                f"--only {text!r}: write FIELD=VALUE[,FIELD=VALUE], e.g. role=baseline,contains=fpb"
            )
        values = value.split("|")
        flt[key.strip()] = values if len(values) > 1 or key.strip() in ("tasks", "contains") else values[0]
    return flt
