"""Score runs on one task from their saved predictions and compare them with reference runs.

run: pytest tests/compare/test_compare.py

Predictions are matched by eval row (their `index`), so runs scored on the same rows pair example by
example; intervals.py puts the interval on the difference. When a run has no predictions (written by another tool, or read from a source without them),
its score comes from metrics.json and the difference has no interval.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from mixft.runner.compare import stats
from mixft.runner.compare.intervals import Interval, SeedVariance, delta_interval
from mixft.runner.compare.results import RunResult, TaskInfo
from mixft.runner.scoring.metrics import parse_label
from mixft.runner.scoring.scorers import column_of, scorer_for


@dataclass(frozen=True)
class Measured:
    """Scores of runs and references on one task, and the difference of their means."""

    metric: str
    scores: list[float]  # one per run (seed)
    reference: list[float]  # one per reference run
    interval: Interval | None  # None without predictions
    n_examples: int | None

    @property
    def delta(self) -> float:
        return statistics.fmean(self.scores) - statistics.fmean(self.reference)


def metric_for(requested: str, info: TaskInfo) -> str:
    """The metric reported for a task: the request when its kind's scorer reports it, else the
    scorer's first (classification: accuracy or macro_f1; numeric_qa: numeric_accuracy)."""
    return scorer_for(info.kind).compared_metric(requested)


def _by_index(run: RunResult, task: str) -> dict[int, dict[str, Any]] | None:
    rows = run.predictions(task)
    if not rows:
        return None
    try:
        return {int(row["index"]): row for row in rows}
    except (KeyError, TypeError, ValueError):  # predictions from an older layout
        return None


def _code(text: Any, labels: tuple[str, ...]) -> int:
    """Label index of a prediction or gold text; len(labels) when it names no label."""
    label = parse_label(str(text), labels) if text is not None else None
    return labels.index(label) if label is not None else len(labels)


def _column(
    rows: dict[int, dict[str, Any]], order: list[int], metric: str, labels: tuple[str, ...]
) -> list[int]:
    if column_of(metric) == "label":
        return [_code(rows[i].get("prediction"), labels) for i in order]
    return [int(bool(rows[i].get("correct"))) for i in order]


def _from_metrics(runs: list[RunResult], refs: list[RunResult], task: str, metric: str) -> Measured | None:
    key = f"eval/{task}/{metric}"
    scores = [r.metrics.get(key) for r in runs]
    reference = [r.metrics.get(key) for r in refs]
    if None in scores or None in reference:
        return None
    return Measured(metric, scores, reference, None, None)


def task_sample(
    task: str, info: TaskInfo, requested: str, runs: list[RunResult], resamples: int = stats.RESAMPLES
) -> stats.Sample | None:
    """The runs' scores on one task, over the eval rows they all share, with their row bootstrap draws.

    Args:
        task: The task scored.
        info: How it is scored.
        requested: accuracy or macro_f1 (numeric tasks always use numeric_accuracy).
        runs: Done runs, one column each, in order.
        resamples: Bootstrap resamples.

    Returns:
        None when a run has no predictions or the runs share no row.
    """
    import numpy as np

    metric = metric_for(requested, info)
    found = [_by_index(r, task) for r in runs]
    tables = [t for t in found if t is not None]
    if len(tables) < len(found):
        return None
    order = sorted(set.intersection(*(set(t) for t in tables)))
    if not order:
        return None
    columns = np.array([_column(t, order, metric, info.labels) for t in tables]).T
    gold = None
    if column_of(metric) == "label":
        gold = np.array([_code(tables[0][i].get("gold"), info.labels) for i in order])
    return stats.sample(metric, columns, gold, len(info.labels), resamples)


def measure(
    task: str,
    info: TaskInfo,
    requested: str,
    runs: list[RunResult],
    refs: list[RunResult],
    confidence: float = stats.CONFIDENCE,
    resamples: int = stats.RESAMPLES,
    pooled: SeedVariance | None = None,
) -> Measured | None:
    """Compare `runs` (one per seed) with `refs` on one task.

    Args:
        task: The task scored.
        info: How it is scored.
        requested: accuracy or macro_f1 (numeric tasks always use numeric_accuracy).
        runs: The compared runs, done, one per seed.
        refs: Their references, done: one per run at the same seed, or the untrained base model alone.
        confidence: Coverage of the interval.
        resamples: Bootstrap resamples.
        pooled: A pooled seed variance of one run on this task (used with one seed; intervals.py).

    Returns:
        Scores and the difference with its interval over seeds and the eval rows every run shares;
        without predictions, the scores of metrics.json and no interval; None when neither exists.
    """
    found = task_sample(task, info, requested, [*runs, *refs], resamples)
    if found is None:
        return _from_metrics(runs, refs, task, metric_for(requested, info))
    return measured(found, len(runs), confidence, pooled, trained_sides(refs))


def trained_sides(refs: list[RunResult]) -> int:
    """2 when the references were trained (they have a seed of their own), 1 for the base model."""
    return 1 if all(r.role == "base" for r in refs) else 2


def measured(
    found: stats.Sample, width: int, confidence: float, pooled: SeedVariance | None, sides: int
) -> Measured:
    """A Measured from the sample of `width` compared runs followed by their references."""
    interval = delta_interval(found, width, confidence, pooled, sides)
    scores = [float(x) for x in found.point]
    return Measured(found.metric, scores[:width], scores[width:], interval, found.n_examples)
