"""Intervals of a difference between runs that hold both sources of its uncertainty: the training
seed and the eval rows drawn.

run: pytest tests/unit/test_compare_stats.py tests/unit/test_compare_calibration.py tests/compare/test_seeds.py

A compared pair at seed s (a mixture and its baseline at s) differs by d_s on the sweep's n eval rows.
Over seeds and rows, d_s = true delta + a_s (the seed: adapter initialisation, data order) + b (which
rows were drawn: the same for every seed) + c_s (how this seed's models fare on these rows). The
estimate is the mean over the k seeds, and its variance is

    var(seed part) / k + var_rows(mean over seeds)

The second term is read off the row bootstrap (stats.Sample). The first comes from the spread of the
d_s, less the part of that spread that is row noise (c_s, which the bootstrap also sees: the mean of
each seed's bootstrap variance exceeds the bootstrap variance of the mean by exactly that much). The
interval is a t interval with Welch-Satterthwaite degrees of freedom: at 2-5 seeds the seed term has
1-4 degrees of freedom, and a bootstrap over so few seeds would be too narrow (10 distinct resamples
of 3 seeds). tests/unit/test_compare_calibration.py measures the coverage by simulation.

With one seed the seed part cannot be seen in the data. A pooled estimate (`pool`) from arms of the
same model, recipe and task that ran at several seeds (a sweep's `calibration_seeds`) stands in for
it; without one the interval is the eval rows' only, labelled so, and claims nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from mixft.runner.compare.stats import Sample

SEEDS, POOLED, ROWS = "seeds", "pooled", "rows"
# what each method's interval holds, for tables and notes
METHODS = {
    SEEDS: "seeds and eval rows",
    POOLED: "eval rows and a pooled seed variance",
    ROWS: "eval rows only (one seed, no seed-variance estimate: no claim)",
}


@dataclass(frozen=True)
class SeedVariance:
    """How much one run's score moves with its training seed, on one task, pooled over arms."""

    variance: float  # of one run's score over seeds, on the same eval rows
    row_noise: float  # the part of `variance` that is how each seed fares on these rows (c_s)
    df: int  # degrees of freedom: seeds minus one, summed over the arms
    arms: int


@dataclass(frozen=True)
class Interval:
    """A difference (compared runs minus reference), its confidence interval and two-sided p-value."""

    estimate: float
    low: float
    high: float
    method: str = ROWS  # SEEDS | POOLED | ROWS
    p_value: float | None = None  # None where the method makes no claim
    df: float | None = None

    @property
    def claims(self) -> bool:
        """Whether the interval may support a claim: it holds the seed's variability."""
        return self.method != ROWS

    @property
    def significant(self) -> int:
        """Before any correction: +1 when the interval lies above zero, -1 below, 0 when it holds zero
        or makes no claim."""
        if not self.claims:
            return 0
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


def seed_spread(point: np.ndarray, draws: np.ndarray) -> tuple[float, float, float]:
    """How k columns that differ only by their seed spread, and how much of it is row noise.

    Args:
        point: (k,) the columns' values on all rows (k >= 2).
        draws: (resamples, k) their values on each row resample.

    Returns:
        (sample variance of the k values; its expected share from row noise (c_s); the row
        bootstrap variance of their mean).
    """
    k = len(point)
    of_mean = float(draws.mean(axis=1).var())
    within = float(draws.var(axis=0).mean())
    row_noise = max(within - of_mean, 0.0) * k / (k - 1)
    return float(point.var(ddof=1)), row_noise, of_mean


def arm_variance(found: Sample) -> SeedVariance | None:
    """The seed variance of one arm (its columns: one run per seed); None with fewer than 2 seeds."""
    k = len(found.point)
    if k < 2:
        return None
    spread, row_noise, _ = seed_spread(found.point, found.draws)
    return SeedVariance(spread, row_noise, k - 1, 1)


def pool(variances: Iterable[SeedVariance | None]) -> SeedVariance | None:
    """The degrees-of-freedom-weighted mean of several arms' seed variances (None when there is none)."""
    found = [v for v in variances if v is not None and v.df > 0]
    df = sum(v.df for v in found)
    if not df:
        return None
    return SeedVariance(
        sum(v.variance * v.df for v in found) / df,
        sum(v.row_noise * v.df for v in found) / df,
        df,
        sum(v.arms for v in found),
    )


def delta_interval(
    found: Sample,
    width: int,
    confidence: float,
    pooled: SeedVariance | None = None,
    trained_sides: int = 2,
) -> Interval:
    """Mean over seeds of (run − reference), with an interval over seeds and eval rows.

    Args:
        found: The runs' columns (`width` of them, one per seed) then the references': one per seed
            in the same order (paired by seed), or one shared by all (the untrained base model).
        width: How many columns are compared runs.
        confidence: Coverage of the interval.
        pooled: A pooled seed variance of one run on this task, used when there is one seed.
        trained_sides: How many sides of one difference were trained (2: a mixture and its baseline;
            1: a run and the untrained base model): the pooled variance counts once per side.

    Returns:
        The estimate and interval, with the method that made it (SEEDS, POOLED or ROWS).
    """
    deltas = found.point[:width] - found.point[width:]
    draws = found.draws[:, :width] - found.draws[:, width:]  # a shared reference broadcasts
    estimate = float(deltas.mean())
    if width >= 2:
        # var(mean) = spread / k + the rows' common part (the bootstrap's, less the row noise in spread)
        spread, row_noise, of_mean = seed_spread(deltas, draws)
        seed_term, seed_df, method = spread / width, width - 1, SEEDS
        row_term, floor = max(of_mean - row_noise / width, 0.0), row_noise / width
    elif pooled is not None:
        seed_term, seed_df, method = trained_sides * pooled.variance, pooled.df, POOLED
        row_term = max(float(draws.var()) - trained_sides * pooled.row_noise, 0.0)
        floor = trained_sides * pooled.row_noise
    else:
        seed_term, seed_df, method, row_term = 0.0, 0, ROWS, float(draws.var())
        floor = row_term
    terms = (seed_term, seed_df, row_term, found.n_examples)
    return _t_interval(estimate, terms, floor, confidence, method)


def _t_interval(
    estimate: float, terms: tuple[float, int, float, int], floor: float, confidence: float, method: str
) -> Interval:
    """estimate ± t(df) × sd: the variance is the seed term plus the row term, at least `floor` (the
    row bootstrap's variance of the estimate: the seed can only add to it), and df is
    Welch-Satterthwaite's over the two terms (seed: seed_df; rows: n_rows - 1)."""
    from scipy import stats

    seed_term, seed_df, row_var, n_rows = terms
    variance = seed_term + row_var
    if variance <= 0:
        return Interval(estimate, estimate, estimate, method, None if method == ROWS else 1.0, None)
    seed_for_df = max(seed_term, floor)
    parts = (seed_for_df**2 / seed_df if seed_df else 0.0) + row_var**2 / max(n_rows - 1, 1)
    df = (seed_for_df + row_var) ** 2 / parts
    sd = math.sqrt(variance)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * sd
    p_value = float(2 * stats.t.sf(abs(estimate) / sd, df)) if method != ROWS else None
    return Interval(estimate, estimate - half, estimate + half, method, p_value, float(df))
