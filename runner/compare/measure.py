"""Score runs on one task from their saved predictions and compare them with reference runs.

run: pytest tests/compare/test_compare.py

Predictions are matched by eval row (their `index`), so runs scored on the same rows pair example by
example. When a run has no predictions (written by another tool, or read from a source without them),
its score comes from metrics.json and the difference has no interval.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from mixft.runner.compare import stats
from mixft.runner.compare.results import RunResult, TaskInfo
from mixft.runner.scoring.metrics import parse_label
from mixft.runner.scoring.scorers import column_of, scorer_for


@dataclass(frozen=True)
class Measured:
    """Scores of runs and references on one task, and the difference of their means."""

    metric: str
    scores: list[float]  # one per run (seed)
    reference: list[float]  # one per reference run
    interval: stats.Interval | None  # None without predictions
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


def measure(
    task: str,
    info: TaskInfo,
    requested: str,
    runs: list[RunResult],
    refs: list[RunResult],
    confidence: float = stats.CONFIDENCE,
    resamples: int = stats.RESAMPLES,
) -> Measured | None:
    """Compare `runs` (one per seed) with `refs` (their baselines, or the base model) on one task.

    Args:
        task: The task scored.
        info: How it is scored.
        requested: accuracy or macro_f1 (numeric tasks always use numeric_accuracy).
        runs: The compared runs, done, one per seed.
        refs: The reference runs, done.
        confidence: Coverage of the bootstrap interval.
        resamples: Bootstrap resamples.

    Returns:
        Scores and the difference with its paired bootstrap interval over the eval rows every run
        shares; without predictions, the scores of metrics.json and no interval; None when neither
        exists.
    """
    import numpy as np

    metric = metric_for(requested, info)
    tables = [_by_index(r, task) for r in [*runs, *refs]]
    if any(t is None for t in tables):
        return _from_metrics(runs, refs, task, metric)
    order = sorted(set.intersection(*(set(t) for t in tables)))
    if not order:
        return _from_metrics(runs, refs, task, metric)
    columns = np.array([_column(t, order, metric, info.labels) for t in tables]).T
    gold = None
    if column_of(metric) == "label":
        gold = np.array([_code(tables[0][i].get("gold"), info.labels) for i in order])
    n_labels = len(info.labels)
    width = len(runs)
    all_scores = stats.scores(metric, columns, gold, n_labels)
    interval = stats.delta_interval(
        metric, columns[:, :width], columns[:, width:], gold, n_labels, confidence, resamples
    )
    return Measured(metric, all_scores[:width], all_scores[width:], interval, len(order))
