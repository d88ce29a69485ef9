"""`mixft compare --view summary`: one answer per mixture across its target tasks, with its uncertainty.

run: mixft compare smoke --view summary    |    pytest tests/unit/test_compare_summary.py

Per model, recipe and mixture arm: the mean over its target tasks of (mixture − single-task baseline),
and the probability of improvement P(mixture > baseline): per task, the chance that a run of the
mixture at a random seed beats a run of the baseline at a random seed (ties count half), averaged
over tasks. Both come with stratified bootstrap intervals in the style of rliable (Agarwal et al.,
NeurIPS 2021): the tasks are strata; within each, the seeds of either side are resampled
independently, and the eval rows are resampled too (the same rows for both sides). Without row
resampling these are rliable's own estimates (tests/unit/test_compare_summary.py checks them against
rliable's functions). With one seed on a side the seeds cannot be resampled: the interval holds the
eval rows only and the row makes no claim.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mixft.runner.compare import stats
from mixft.runner.compare.intervals import METHODS, ROWS, SEEDS
from mixft.runner.compare.measure import task_sample
from mixft.runner.compare.pairing import BASELINE, Comparison, Options, Report

if TYPE_CHECKING:
    import numpy as np

CROSS_TASK = "tasks, seeds and eval rows"


@dataclass(frozen=True)
class Stratum:
    """One task of an arm: the mixture's `width` columns (one per seed) then the baseline's."""

    point: np.ndarray  # (columns,) scores on all rows
    draws: np.ndarray  # (resamples, columns) scores on each row resample
    width: int


def improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(x > y) over every pair of a run of x and a run of y, ties half, along the last axis pairs.

    Args:
        x: (..., kx) scores of one side's runs.
        y: (..., ky) the other side's.
    """
    diff = x[..., :, None] - y[..., None, :]
    return ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(-2, -1))


def stratified(strata: list[Stratum], confidence: float, resamples: int) -> dict[str, float]:
    """Mean delta and probability of improvement over the strata, with stratified bootstrap intervals.

    Returns:
        mean_delta, ci_low, ci_high, prob_improvement, pi_low, pi_high.
    """
    import numpy as np

    rng = np.random.default_rng(stats.SEED)
    deltas, probs, delta_draws, prob_draws = [], [], [], []
    for s in strata:
        x, y = s.point[: s.width], s.point[s.width :]
        deltas.append(x.mean() - y.mean())
        probs.append(improvement(x, y))
        rows = s.draws[rng.integers(0, len(s.draws), resamples)]  # the row resample of each draw
        pick = np.arange(resamples)[:, None]
        xs = rows[pick, rng.integers(0, s.width, (resamples, s.width))]
        ys = rows[pick, s.width + rng.integers(0, len(y), (resamples, len(y)))]
        delta_draws.append(xs.mean(axis=1) - ys.mean(axis=1))
        prob_draws.append(improvement(xs, ys))
    tail = (1 - confidence) / 2
    d_low, d_high = np.quantile(np.mean(delta_draws, axis=0), [tail, 1 - tail])
    p_low, p_high = np.quantile(np.mean(prob_draws, axis=0), [tail, 1 - tail])
    return {
        "mean_delta": float(np.mean(deltas)),
        "ci_low": float(d_low),
        "ci_high": float(d_high),
        "prob_improvement": float(np.mean(probs)),
        "pi_low": float(p_low),
        "pi_high": float(p_high),
    }


def _stratum(report: Report, c: Comparison, options: Options) -> Stratum | None:
    runs = {r.id: r for r in report.runs}
    members = [runs[i] for i in (*c.run_ids, *c.reference_ids)]
    info = members[0].scored[c.task]
    found = task_sample(c.task, info, options.metric, members, options.resamples)
    if found is None:
        return None
    return Stratum(found.point, found.draws, len(c.run_ids))


def summary_rows(report: Report, options: Options) -> list[dict[str, Any]]:
    """One row per model, recipe and mixture arm that has baselines on its targets (pairing.pair)."""
    arms: dict[tuple[Any, ...], list[Comparison]] = defaultdict(list)
    for c in report.comparisons:
        if c.reference == BASELINE and not c.held_out:
            arms[(c.model, c.recipe, c.mixture, c.regularizer)].append(c)
    rows = []
    for (model, recipe, mixture, regularizer), found in sorted(arms.items()):
        strata = [s for s in (_stratum(report, c, options) for c in found) if s is not None]
        if not strata:
            continue
        seeded = all(s.width >= 2 and len(s.point) - s.width >= 2 for s in strata)
        estimate = stratified(strata, options.confidence, options.resamples)
        excludes = 1 if estimate["ci_low"] > 0 else -1 if estimate["ci_high"] < 0 else 0
        rows.append(
            {
                "model": model,
                "recipe": recipe,
                "mixture": list(mixture),
                "regularizer": regularizer,
                "tasks": [c.task for c in found],
                "n_tasks": len(strata),
                **estimate,
                "n_seeds": min(s.width for s in strata),
                "ci_method": SEEDS if seeded else ROWS,
                "ci_holds": CROSS_TASK if seeded else METHODS[ROWS],
                "significant": excludes if seeded else 0,
            }
        )
    return rows
