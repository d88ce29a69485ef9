"""Where `mixft compare` reads runs from: the store (default, offline) or a tracker (`--source NAME`).

run: mixft compare smoke    |    mixft compare smoke --source mlflow    |    mixft compare cocktail_paper --source wandb

The store is the source of truth: run directories hold configs, states, metrics and predictions.
A tracker holds the same runs when the sweep ran with it (runner/tracking/: `read_runs`): the config
(flattened), the final metrics and the predictions as files; W&B finds them by their group, MLflow by
its experiment, both named after the sweep. Suite scores come from the summary (`suite/<suite>/<task>/<metric>`); a run's suite settings and
per-document records are read from its files when it uploaded them, else the settings are the ones
its config declares (few-shot, limit, chat template) and the scores have no interval.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

from mixft.runner.compare.results import (
    RunResult,
    SuiteRecords,
    SuiteSettings,
    contexts,
    from_store,
    suite_metrics,
    task_infos,
)
from mixft.runner.config.trackers import tracker_config
from mixft.runner.errors import ConfigError
from mixft.runner.paths import run_dir
from mixft.runner.plan.grid import expand
from mixft.runner.plan.sweepfile import load_sweep, recorded_runs
from mixft.runner.store import rundir
from mixft.runner.tracking import TRACKERS, tracker_for
from mixft.runner.tracking.base import TrackedRun, Tracker

SOURCES = ("store", *(name for name in TRACKERS if name != "none"))


def store_runs(sweep: str, overrides: list[str] | None = None) -> tuple[list[RunResult], list[str]]:
    """Runs the sweep recorded in this store (or, with `overrides`, the runs the sweep plans with
    them), and a line per run whose directory cannot be read."""
    runs, unreadable = [], []
    ids = [run.id for run in expand(load_sweep(sweep), overrides).runs] if overrides else recorded_runs(sweep)
    for rid in ids:
        run = from_store(rid)
        if run is None:
            unreadable.append(f"run {rid}: {run_dir(rid)} has no readable {rundir.CONFIG}")
        else:
            runs.append(run)
    return runs, unreadable


def tracker_settings(sweep: str) -> dict[str, Any]:
    """The sweep's tracker settings (name, project, tracking_uri, ...): from a run config in this store
    when the sweep ran here, else from the sweep file's plan."""
    try:
        return dict(rundir.read_config(run_dir(recorded_runs(sweep)[0]))["tracker"])
    except (ConfigError, IndexError, KeyError, TypeError):
        return dataclasses.asdict(expand(load_sweep(sweep)).runs[0].config.tracker)


def _jsonl(text: str | None) -> list[dict[str, Any]] | None:
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()] if text else None
    except ValueError:
        return None


def _downloader(run: TrackedRun) -> Any:
    def read(task: str) -> list[dict[str, Any]] | None:
        return _jsonl(run.fetch(f"predictions/{task}.jsonl"))

    return read


def declared_settings(flat: dict[str, Any], suite: str) -> dict[str, Any] | None:
    """A suite's settings as its definition in a flat config gives them: per task, few-shot, limit and
    chat template (the resolved prompts and versions are only in settings.json)."""
    prefix = f"suite.{suite}."
    tasks = flat.get(prefix + "tasks")
    if not isinstance(tasks, list):
        return None
    fields = ("num_fewshot", "limit", "apply_chat_template")
    return {"tasks": {str(t): {f: flat.get(prefix + f) for f in fields} for t in tasks}}


def _suite_readers(run: TrackedRun, flat: dict[str, Any]) -> tuple[SuiteSettings, SuiteRecords]:
    def settings(suite: str) -> dict[str, Any] | None:
        try:
            found = json.loads(run.fetch(f"suites/{suite}/settings.json") or "null")
        except ValueError:
            found = None
        return found if isinstance(found, dict) else declared_settings(flat, suite)

    def records(suite: str, task: str) -> list[dict[str, Any]] | None:
        return _jsonl(run.fetch(f"suites/{suite}/{task}.jsonl"))

    return functools.cache(settings), functools.cache(records)


def _tracked_result(run: TrackedRun) -> RunResult | None:
    """A tracker's run of ours as a RunResult; None for runs mixft did not log (no role in the config)."""
    from mixft.runner.config.catalog import load_tasks

    flat = dict(run.config)
    if "role" not in flat or "model.name" not in flat:
        return None
    flat.setdefault("eval.engine", "hf")  # runs logged before engines were recorded generated with hf
    context, base_context = contexts(flat)
    catalogue = {name: dataclasses.asdict(task) for name, task in load_tasks().items()}
    names = flat.get("task") or list(catalogue)
    summary = run.summary
    settings, records = _suite_readers(run, flat)
    return RunResult(
        id=run.id,
        role=flat["role"],
        state=run.state,
        model=flat["model.name"],
        recipe=flat.get("training.name", "?"),
        tasks=tuple(sorted(flat.get("tasks") or ())),
        regularizer=flat.get("regularizer", "none"),
        seed=flat.get("seed"),
        context=context,
        base_context=base_context,
        scored=task_infos({n: catalogue[n] for n in names if n in catalogue}),
        metrics={k: v for k, v in summary.items() if k.startswith("eval/") and isinstance(v, int | float)},
        predictions=_downloader(run),
        suite_metrics=suite_metrics(summary),
        suite_settings=settings,
        suite_records=records,
    )


def sweep_tracker(sweep: str, name: str | None = None, **settings: Any) -> Tracker:
    """The tracker `name` (default: the one the sweep ran with) with the sweep's settings for it, and
    `settings` (project=..., entity=...) over them where not None."""
    recorded = tracker_settings(sweep)
    name = name or str(recorded.get("name", "none"))
    cls = tracker_config(name)
    known = {f.name for f in dataclasses.fields(cls)} - {"name"}
    values = {k: v for k, v in recorded.items() if k in known} if recorded.get("name") == name else {}
    values |= {k: v for k, v in settings.items() if v is not None and k in known}
    return tracker_for(cls(**values))


def tracker_runs(sweep: str, source: str, project: str | None, entity: str | None) -> list[RunResult]:
    """The sweep's runs as the tracker `source` holds them (W&B: group = sweep; MLflow: experiment),
    with their predictions fetched on demand; task labels from this installation's task catalogue.

    Raises:
        ConfigError: the tracker cannot be read, or it holds no runs of the sweep.
    """
    tracker = sweep_tracker(sweep, source, project=project, entity=entity)
    runs = [r for r in map(_tracked_result, tracker.read_runs(sweep)) if r is not None]
    # in the store's order where the sweep ran here (ties in a view then fall the same way), else by id
    order = {rid: i for i, rid in enumerate(recorded_runs(sweep))}
    runs.sort(key=lambda r: (order.get(r.id, len(order)), r.id))
    if not runs:
        raise ConfigError(
            f"tracker {source} has no runs of sweep '{sweep}'; did the sweep run with tracker={source}?"
        )
    return runs
