"""Scores of runs on shared eval rows, and bootstrap draws of those scores over the rows.

run: pytest tests/unit/test_compare_stats.py    |    python tests/bench/compare_speed.py

Runs of a sweep are scored on the same eval rows, so a mixture and its baseline are compared example
by example: resample the examples with replacement (the same rows for every run) and recompute each
run's score; intervals.py turns the draws into an interval that also holds the training seed's
variability. Accuracy and macro-F1 depend on the examples only through how
often each outcome occurs (correct or not; predicted and gold label), so the examples are grouped by
outcome and a resample is one multinomial draw of the group counts (numpy). That is the same
distribution as drawing rows, at a cost that does not grow with the number of examples; the tests
check it against scipy.stats.bootstrap and `make bench` measures both.

`mean` is the mean of per-example floats (lm-eval suites score each document with a metric of its
own: 0/1 accuracy, or any float): the same weighted mean as accuracy, over distinct value rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mixft.runner.scoring.scorers import column_of

if TYPE_CHECKING:
    import numpy as np

RESAMPLES = 10_000
CONFIDENCE = 0.95
SEED = 0  # a fixed stream: the same store always prints the same intervals
MEAN = "mean"  # per-example floats averaged (suite documents)


def per_column(metric: str, columns: np.ndarray, weights: np.ndarray, n_labels: int) -> np.ndarray:
    """A metric per column of outcome groups, under each row of weights.

    Args:
        metric: accuracy or numeric_accuracy: columns hold 1 (correct) or 0; mean: columns hold any
            per-example float; macro_f1: columns hold predicted label codes (n_labels for an output
            that named no label) and the last column the gold codes.
        columns: (groups, k) distinct outcomes.
        weights: (resamples, groups) how often each outcome occurs in each resample.
        n_labels: Size of the label space (macro_f1 only).

    Returns:
        (resamples, k) accuracy or mean, or (resamples, k - 1) macro-F1 (the gold column is not scored).
    """
    import numpy as np

    total = weights.sum(axis=1, keepdims=True)
    if metric == MEAN or column_of(metric) == "correct":  # the share of correct examples, or the mean
        return (weights @ columns) / total
    # "label": macro-F1 over predicted label codes
    preds, gold = columns[:, :-1], columns[:, -1:]
    f1_sum = np.zeros((weights.shape[0], preds.shape[1]))
    occurring = np.zeros_like(f1_sum)
    for label in range(n_labels):
        is_pred, is_gold = preds == label, gold == label
        tp = weights @ (is_pred & is_gold)
        fp = weights @ (is_pred & ~is_gold)
        fn = weights @ (~is_pred & is_gold)
        seen = (tp + fp + fn) > 0  # scikit-learn's macro-F1: labels present in gold or prediction
        f1_sum += np.where(seen, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        occurring += seen
    return f1_sum / np.maximum(occurring, 1)


def _groups(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    distinct, counts = np.unique(columns, axis=0, return_counts=True)
    return distinct, counts


def scores(metric: str, values: np.ndarray, gold: np.ndarray | None, n_labels: int = 0) -> list[float]:
    """The metric of each column (one run or seed per column) over all examples.

    Args:
        metric: accuracy, mean or macro_f1 (see `per_column`).
        values: (examples, k) correctness, per-example floats, or predicted label codes.
        gold: (examples,) gold label codes for macro_f1, else None.
        n_labels: Size of the label space (macro_f1 only).
    """
    import numpy as np

    columns = values if gold is None else np.column_stack([values, gold])
    distinct, counts = _groups(columns)
    return [float(x) for x in per_column(metric, distinct, counts[None, :], n_labels)[0]]


@dataclass(frozen=True)
class Sample:
    """Runs scored on the same eval rows: each column's score, and its bootstrap draws over rows.

    Every column is resampled with the same rows, so any difference of columns can be read off the
    draws with its row-sampling variability (and the covariance of the columns) kept.
    """

    metric: str
    point: np.ndarray  # (k,) each column's score on all rows
    draws: np.ndarray  # (resamples, k) each column's score on each resample of the rows
    n_examples: int


def sample(
    metric: str,
    values: np.ndarray,
    gold: np.ndarray | None = None,
    n_labels: int = 0,
    resamples: int = RESAMPLES,
) -> Sample:
    """Score every column and draw `resamples` bootstrap resamples of the rows (the same for all).

    Args:
        metric: accuracy, mean or macro_f1 (see `per_column`).
        values: (examples, k) correctness, per-example floats or predicted label codes, one column per
            run, row for row.
        gold: (examples,) gold label codes for macro_f1, else None.
        n_labels: Size of the label space (macro_f1 only).
        resamples: Bootstrap resamples.
    """
    import numpy as np

    columns = values if gold is None else np.column_stack([values, gold])
    distinct, counts = _groups(columns)
    rng = np.random.default_rng(SEED)
    weights = rng.multinomial(counts.sum(), counts / counts.sum(), size=resamples)
    point = per_column(metric, distinct, counts[None, :], n_labels)[0]
    return Sample(metric, point, per_column(metric, distinct, weights, n_labels), int(counts.sum()))
