"""Simulated studies with a known truth, for checking compare's intervals and corrected counts.

run: pytest tests/unit/test_compare_calibration.py    |    python tests/bench/compare_calibration.py

A study draws its eval rows from a population (each row a difficulty z ~ N(0, ROW_SD²) on the logit
scale) and trains each arm at several seeds (each seed shifts the arm's logit by a ~ N(0, tau²)); a
trained model answers row i correctly with probability sigmoid(theta + a + z_i). The true delta of a
mixture over its baseline is the difference of their expected accuracies over rows and seeds, which
quadrature gives exactly. The comparisons go through compare's own code: stats.sample, the interval
of intervals.py, pooling and the corrections of pairing.corrected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixft.runner.compare.intervals import Interval, arm_variance, delta_interval, pool
from mixft.runner.compare.measure import Measured
from mixft.runner.compare.pairing import Comparison, Options, Report, corrected
from mixft.runner.compare.stats import sample

ROW_SD = 1.5  # spread of row difficulty, logits
BASELINE_LOGIT = 0.4  # about 0.57 accuracy
RESAMPLES = 500  # fewer than compare's 10,000: the variances they estimate move by about 6%
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(60)


@dataclass(frozen=True)
class Case:
    """One kind of comparison: its true effect (logits), seed spread (logits) and size."""

    name: str
    effect: float
    tau: float
    rows: int = 128
    seeds: int = 3


CASES = (
    # the measured financial-sentiment spread: per-seed deltas with sd about 0.14
    Case("seed noise like the tweets study, no effect", 0.0, 0.55),
    Case("seed noise like the tweets study, +0.5 logit", 0.5, 0.55),
    Case("little seed noise, no effect", 0.0, 0.05),
    Case("little seed noise, -0.5 logit", -0.5, 0.05),
)


def accuracy(theta: float, tau: float) -> float:
    """Expected accuracy over the row population and seeds: E sigmoid(theta + N(0, tau² + ROW_SD²))."""
    sd = float(np.hypot(tau, ROW_SD))
    return float(WEIGHTS @ (1 / (1 + np.exp(-(theta + sd * NODES))))) / float(WEIGHTS.sum())


def truth(case: Case) -> float:
    """The true delta of a case's mixture over its baseline."""
    return accuracy(BASELINE_LOGIT + case.effect, case.tau) - accuracy(BASELINE_LOGIT, case.tau)


def answers(rng: np.random.Generator, z: np.ndarray, theta: float, tau: float, seeds: int) -> np.ndarray:
    """(rows, seeds) correct answers of one arm trained at `seeds` seeds."""
    logits = theta + rng.normal(0, tau, seeds)[None, :] + z[:, None]
    return (rng.random((len(z), seeds)) < 1 / (1 + np.exp(-logits))).astype(int)


def compared(rng: np.random.Generator, case: Case) -> Interval:
    """One simulated mixture-vs-baseline comparison at `case.seeds` seeds."""
    z = rng.normal(0, ROW_SD, case.rows)
    base = answers(rng, z, BASELINE_LOGIT, case.tau, case.seeds)
    mix = answers(rng, z, BASELINE_LOGIT + case.effect, case.tau, case.seeds)
    found = sample("accuracy", np.column_stack([mix, base]), resamples=RESAMPLES)
    return delta_interval(found, case.seeds, 0.95)


def compared_one_seed(rng: np.random.Generator, case: Case, calibration_seeds: int = 3) -> Interval:
    """A mixture at one seed against its baseline at that seed, the baseline also run at
    `calibration_seeds` seeds: their seed variance, pooled, widens the one-seed interval."""
    z = rng.normal(0, ROW_SD, case.rows)
    base = answers(rng, z, BASELINE_LOGIT, case.tau, calibration_seeds)
    mix = answers(rng, z, BASELINE_LOGIT + case.effect, case.tau, 1)
    pooled = pool([arm_variance(sample("accuracy", base, resamples=RESAMPLES))])
    found = sample("accuracy", np.column_stack([mix, base[:, :1]]), resamples=RESAMPLES)
    return delta_interval(found, 1, 0.95, pooled)


def coverage(intervals: list[Interval], true_delta: float) -> float:
    """The share of intervals that hold the true delta."""
    return float(np.mean([i.low <= true_delta <= i.high for i in intervals]))


def null_study(rng: np.random.Generator, mixtures: int, case: Case, correction: str) -> int:
    """How many of `mixtures` mixtures, none better than the shared baseline, compare calls better
    after its correction."""
    z = rng.normal(0, ROW_SD, case.rows)
    base = answers(rng, z, BASELINE_LOGIT, case.tau, case.seeds)
    comparisons = []
    for m in range(mixtures):
        mix = answers(rng, z, BASELINE_LOGIT, case.tau, case.seeds)
        found = sample("accuracy", np.column_stack([mix, base]), resamples=RESAMPLES)
        interval = delta_interval(found, case.seeds, 0.95)
        measured = Measured("accuracy", [], [], interval, case.rows)
        comparisons.append(Comparison("m", "r", "t", (f"x{m}",), "none", "baseline", False, measured, (), ()))
    report = corrected(Report(comparisons=comparisons), Options(correction=correction))
    return sum(c.significant == 1 for c in report.comparisons)
