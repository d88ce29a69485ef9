"""Where `mixft compare` reads runs from: the store (default, offline) or the W&B API.

run: mixft compare smoke    |    mixft compare cocktail_paper --source wandb    (needs network + key)

The store is the source of truth: run directories hold configs, states, metrics and predictions.
W&B holds the same runs when the sweep ran with tracker=wandb: the config (flattened), the summary
metrics and the predictions as run files. W&B runs are found by their group, the sweep's name.
Suite scores come from the summary (`suite/<suite>/<task>/<metric>`); a run's suite settings and
per-document records are read from its files when it uploaded them, else the settings are the ones
its config declares (few-shot, limit, chat template) and the scores have no interval.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
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
from mixft.runner.errors import ConfigError
from mixft.runner.paths import compare_dir, run_dir
from mixft.runner.plan.grid import expand
from mixft.runner.plan.sweepfile import load_sweep, recorded_runs
from mixft.runner.store import rundir

SOURCES = ("store", "wandb")
# W&B run states -> mixft states
WANDB_STATES = {"finished": "done", "failed": "failed", "crashed": "failed", "killed": "interrupted"}
API_TIMEOUT_S = 60


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
    """The sweep's W&B settings (project, entity, mode): from a run config in this store when the sweep
    ran here, else from the sweep file's plan."""
    try:
        return dict(rundir.read_config(run_dir(recorded_runs(sweep)[0]))["tracker"])
    except (ConfigError, IndexError, KeyError, TypeError):
        return dataclasses.asdict(expand(load_sweep(sweep)).runs[0].config.tracker)


def _fetch(run: Any, cache: Path, name: str) -> str | None:
    """The text of one of the run's W&B files; None when it was not uploaded or cannot be fetched."""
    try:
        run.file(name).download(root=str(cache), replace=True, exist_ok=True)
        return (cache / name).read_text(encoding="utf-8")
    except Exception:  # not uploaded (an older run), or the network went away: no interval
        return None


def _jsonl(text: str | None) -> list[dict[str, Any]] | None:
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()] if text else None
    except ValueError:
        return None


def _downloader(run: Any, cache: Path) -> Any:
    def read(task: str) -> list[dict[str, Any]] | None:
        return _jsonl(_fetch(run, cache, f"predictions/{task}.jsonl"))

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


def _suite_readers(run: Any, cache: Path, flat: dict[str, Any]) -> tuple[SuiteSettings, SuiteRecords]:
    def settings(suite: str) -> dict[str, Any] | None:
        try:
            found = json.loads(_fetch(run, cache, f"suites/{suite}/settings.json") or "null")
        except ValueError:
            found = None
        return found if isinstance(found, dict) else declared_settings(flat, suite)

    def records(suite: str, task: str) -> list[dict[str, Any]] | None:
        return _jsonl(_fetch(run, cache, f"suites/{suite}/{task}.jsonl"))

    return functools.cache(settings), functools.cache(records)


def _wandb_result(run: Any, cache: Path) -> RunResult | None:
    """A W&B run of ours as a RunResult; None for runs mixft did not log (no role in the config)."""
    from mixft.runner.config.catalog import load_tasks

    flat = dict(run.config)
    if "role" not in flat or "model.name" not in flat:
        return None
    flat.setdefault("eval.engine", "hf")  # runs logged before engines were recorded generated with hf
    context, base_context = contexts(flat)
    catalogue = {name: dataclasses.asdict(task) for name, task in load_tasks().items()}
    names = flat.get("task") or list(catalogue)
    summary = dict(run.summary)
    settings, records = _suite_readers(run, cache / run.id, flat)
    return RunResult(
        id=run.id,
        role=flat["role"],
        state=WANDB_STATES.get(run.state, run.state),
        model=flat["model.name"],
        recipe=flat.get("training.name", "?"),
        tasks=tuple(sorted(flat.get("tasks") or ())),
        regularizer=flat.get("regularizer", "none"),
        seed=flat.get("seed"),
        context=context,
        base_context=base_context,
        scored=task_infos({n: catalogue[n] for n in names if n in catalogue}),
        metrics={k: v for k, v in summary.items() if k.startswith("eval/") and isinstance(v, int | float)},
        predictions=_downloader(run, cache / run.id),
        suite_metrics=suite_metrics(summary),
        suite_settings=settings,
        suite_records=records,
    )


def wandb_runs(sweep: str, project: str, entity: str | None) -> list[RunResult]:
    """The sweep's runs in W&B (group = sweep name), with their predictions fetched on demand.

    Task labels come from this installation's task catalogue (W&B keeps only the task names).

    Raises:
        ConfigError: No credentials, the project cannot be reached, or it holds no runs of the sweep.
    """
    import wandb

    from mixft.runner.tracking.wandb_init import has_credentials

    if not has_credentials():
        raise ConfigError("--source wandb needs W&B credentials: set WANDB_API_KEY or run `wandb login`")
    path = f"{entity}/{project}" if entity else project
    try:
        found = list(wandb.Api(timeout=API_TIMEOUT_S).runs(path, filters={"group": sweep}))
    except Exception as exc:
        raise ConfigError(f"W&B project '{path}': cannot list runs ({str(exc).splitlines()[0]})") from None
    cache = compare_dir(sweep) / "wandb-files"
    runs = [r for r in (_wandb_result(run, cache) for run in found) if r is not None]
    if not runs:
        raise ConfigError(
            f"W&B project '{path}' has no runs in group '{sweep}'; did the sweep run with tracker=wandb?"
        )
    return runs
