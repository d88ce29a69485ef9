"""What `mixft compare` knows of a run: where it sits in the grid, its state, scores and predictions.

run: mixft compare smoke    (reads the store's run directories; --source wandb|mlflow reads a tracker instead)

Every source produces the same RunResult, so pairing and statistics never know where the numbers
came from. Runs pair when they share a *context*: every config value except the mixture's tasks and
shares, the regulariser, the seed, the eval task list and labels, and the lm-eval suites (their list
and definitions: `compare --view forgetting` checks, suite task by suite task, what the documents were
scored under, and names what differs). A baseline for task t is then the run in the same context and
seed trained on {t} alone; the base model is the untrained run with the same model, data and eval
settings.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixft.runner.errors import ConfigError
from mixft.runner.jsonutil import flatten
from mixft.runner.paths import run_dir
from mixft.runner.store import rundir
from mixft.runner.store.status import last_error_line, read_status

# Flat config keys (or key prefixes) outside a run's pairing context.
NOT_CONTEXT = (
    "task",
    "tracker",
    "executor",
    "regularizer",
    "seed",
    "mixture.tasks",
    "mixture.shares",
    "eval.tasks",
    "eval.include_targets",
    "eval.suites",
    "suite",
)
BASE_CONTEXT = ("model", "data", "eval")  # what a base-model evaluation shares with trained runs
LABEL_KEYS = ("name", "description")  # a recipe's name is a label; model.name is kept

Predictions = Callable[[str], list[dict[str, Any]] | None]
SuiteSettings = Callable[[str], dict[str, Any] | None]  # suite -> its settings.json
SuiteRecords = Callable[[str, str], list[dict[str, Any]] | None]  # (suite, task) -> one row per document


@dataclass(frozen=True)
class TaskInfo:
    """How a task is scored: kind (classification | numeric_qa), labels, and whether it is trainable."""

    kind: str
    labels: tuple[str, ...] = ()
    trainable: bool = True


@dataclass
class RunResult:
    """One run as compare sees it."""

    id: str
    role: str  # base | baseline | mixture
    state: str  # pending | running | done | failed | interrupted
    model: str
    recipe: str  # the training recipe's name
    tasks: tuple[str, ...]  # trained tasks, sorted
    regularizer: str
    seed: int | None
    context: str  # digest: runs that pair share it (see module doc)
    base_context: str  # digest: the base-model run of this model, data and eval settings
    scored: dict[str, TaskInfo]  # every task of the run's catalogue that has a metric
    metrics: dict[str, float] = field(default_factory=dict)  # eval/<task>/<metric>
    error: str | None = None
    predictions: Predictions = field(default=lambda task: None, repr=False)
    suite_metrics: dict[str, float] = field(default_factory=dict)  # suite/<suite>/<task>/<metric>
    suite_settings: SuiteSettings = field(default=lambda suite: None, repr=False)
    suite_records: SuiteRecords = field(default=lambda suite, task: None, repr=False)

    @property
    def targets(self) -> tuple[str, ...]:
        """Trained tasks that have a metric: the tasks this run is compared on."""
        return tuple(t for t in self.tasks if t in self.scored)

    @property
    def additions(self) -> tuple[str, ...]:
        """Data trained on besides the targets: unscored mixture tasks, or the regulariser."""
        extra = tuple(t for t in self.tasks if t not in self.scored)
        if self.regularizer != "none":
            extra += (self.regularizer,)
        return extra

    @property
    def evaluated(self) -> tuple[str, ...]:
        """Tasks this run has a score for."""
        return tuple(sorted({key.split("/")[1] for key in self.metrics if key.startswith("eval/")}))

    @property
    def suite_tasks(self) -> tuple[tuple[str, str], ...]:
        """(suite, task) pairs this run has a score for."""
        return tuple(sorted({suite_key(key)[:2] for key in self.suite_metrics}))


def suite_key(key: str) -> tuple[str, str, str]:
    """(suite, task, metric) of a `suite/<suite>/<task>/<metric>` metrics key."""
    _, suite, rest = key.split("/", 2)
    task, _, metric = rest.rpartition("/")
    return suite, task, metric


def suite_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The `suite/<suite>/<task>/<metric>` numbers of a metrics mapping (metrics.json, a W&B summary)."""
    return {
        k: v
        for k, v in metrics.items()
        if k.startswith("suite/") and k.count("/") >= 3 and isinstance(v, int | float)
    }


def _within(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _digest(flat: dict[str, Any]) -> str:
    text = json.dumps(flat, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def contexts(flat: dict[str, Any]) -> tuple[str, str]:
    """(pairing context, base-model context) digests of a flat config (see module doc)."""
    kept = {
        k: v
        for k, v in flat.items()
        if "." in k  # W&B adds its axes (model, tasks, ...) as top-level keys
        and not _within(k, NOT_CONTEXT)
        and (k == "model.name" or k.rsplit(".", 1)[1] not in LABEL_KEYS)
    }
    base = {k: v for k, v in kept.items() if _within(k, BASE_CONTEXT)}
    return _digest(kept), _digest(base)


def task_infos(catalogue: dict[str, Any]) -> dict[str, TaskInfo]:
    """Scored tasks of a config's task catalogue (nested dicts as in config.yaml)."""
    return {
        name: TaskInfo(task["kind"], tuple(task.get("labels") or ()), bool(task.get("trainable", True)))
        for name, task in catalogue.items()
        if task.get("metric", "none") != "none"
    }


def read_predictions(folder: Path) -> Predictions:
    """A reader of one run's predictions, task by task (None where a file is missing or unreadable)."""
    return functools.partial(rundir.read_predictions, folder)


def suite_readers(folder: Path) -> tuple[SuiteSettings, SuiteRecords]:
    """Readers of one run's suite settings (read once per suite) and per-document records."""
    return (
        functools.cache(functools.partial(rundir.read_suite_settings, folder)),
        functools.partial(rundir.read_suite_records, folder),
    )


def from_store(rid: str) -> RunResult | None:
    """A run read from its directory; None when it has no config (never written)."""
    folder = run_dir(rid)
    try:
        return _result(rid, folder, rundir.read_config(folder))
    except (ConfigError, KeyError, TypeError, AttributeError):  # lost or torn: reported as missing
        return None


def _result(rid: str, folder: Path, config: dict[str, Any]) -> RunResult:
    meta = rundir.read_meta(folder)
    status = read_status(folder)
    flat = flatten({k: v for k, v in config.items() if k != "task"})
    flat["eval.engine"] = rundir.read_engine(folder)  # what it ran on, not what it asked for (auto)
    context, base_context = contexts(flat)
    metrics = rundir.read_metrics(folder) if status["state"] == "done" else {}
    settings, records = suite_readers(folder)
    return RunResult(
        id=rid,
        role=meta.get("role", "mixture"),
        state=status["state"],
        model=config["model"]["name"],
        recipe=config["training"]["name"],
        tasks=tuple(sorted(config["mixture"]["tasks"])),
        regularizer=config["regularizer"]["name"],
        seed=config.get("seed"),
        context=context,
        base_context=base_context,
        scored=task_infos(config.get("task") or {}),
        metrics={k: v for k, v in metrics.items() if k.startswith("eval/")},
        error=last_error_line(status),
        predictions=read_predictions(folder),
        suite_metrics=suite_metrics(metrics),
        suite_settings=settings,
        suite_records=records,
    )
