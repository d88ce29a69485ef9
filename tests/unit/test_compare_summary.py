"""The summary view's estimates against rliable's own functions on the same score arrays."""

from __future__ import annotations

import numpy as np
import pytest

from mixft.runner.compare.summary import Stratum, stratified

rliable = pytest.importorskip("rliable.library", reason="rliable is in the dev extra")
from rliable import metrics  # noqa: E402


def arrays(seed: int, runs: int = 3, tasks: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(runs, tasks) scores of a mixture and of its baselines: a small effect and seed noise."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(0.4, 0.8, tasks)
    return (
        level + 0.03 + rng.normal(0, 0.05, (runs, tasks)),
        level + rng.normal(0, 0.05, (runs, tasks)),
    )


def fixed_rows(x: np.ndarray, y: np.ndarray) -> list[Stratum]:
    """One stratum per task with the eval rows held fixed (every row draw is the full set)."""
    strata = []
    for t in range(x.shape[1]):
        point = np.concatenate([x[:, t], y[:, t]])
        strata.append(Stratum(point, np.tile(point, (10, 1)), x.shape[0]))
    return strata


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_point_estimates_are_rliables(seed):
    x, y = arrays(seed)
    got = stratified(fixed_rows(x, y), 0.95, 2000)
    assert got["prob_improvement"] == pytest.approx(metrics.probability_of_improvement(x, y))
    assert got["mean_delta"] == pytest.approx(x.mean() - y.mean())


def rliable_bootstrap(x: np.ndarray, y: np.ndarray, seed: int):
    """rliable's StratifiedIndependentBootstrap (its strata and resampling), seeded the way arch 8
    takes it: rliable 1.2 passes `random_state`, which arch 8 (the arch that imports beside pandas 3)
    no longer has, so its __init__ is repeated here with `seed`."""
    from arch.bootstrap import IndependentSamplesBootstrap

    bs = rliable.StratifiedIndependentBootstrap.__new__(rliable.StratifiedIndependentBootstrap)
    IndependentSamplesBootstrap.__init__(bs, x, y, seed=seed)
    bs._args_shapes = [x.shape, y.shape]
    bs._kwargs_shapes = {}
    bs._args_strata_indices = [bs._get_strata_indices(shape) for shape in bs._args_shapes]
    bs._kwargs_strata_indices = {}
    return bs


@pytest.mark.slow  # rliable's bootstrap calls scipy per task and replicate: about 30 s
def test_intervals_agree_with_rliables_stratified_bootstrap():
    x, y = arrays(0)
    got = stratified(fixed_rows(x, y), 0.95, 20_000)
    both = lambda a, b: np.array([metrics.probability_of_improvement(a, b), a.mean() - b.mean()])  # noqa: E731
    (pi_low, delta_low), (pi_high, delta_high) = rliable_bootstrap(x, y, 0).conf_int(
        both, reps=5000, size=0.95, method="percentile"
    )
    # P(improvement) moves in steps of 1 / (tasks x runs x runs): its percentiles may differ by a step
    step = 1 / (x.shape[1] * x.shape[0] * y.shape[0])
    assert got["pi_low"] == pytest.approx(pi_low, abs=1.5 * step)
    assert got["pi_high"] == pytest.approx(pi_high, abs=1.5 * step)
    assert got["ci_low"] == pytest.approx(delta_low, abs=0.005)
    assert got["ci_high"] == pytest.approx(delta_high, abs=0.005)
    assert got["ci_high"] - got["ci_low"] > 0.01  # a real interval, not two equal numbers


def test_resampling_rows_widens_the_interval():
    x, y = arrays(3)
    fixed = stratified(fixed_rows(x, y), 0.95, 4000)
    rng = np.random.default_rng(0)
    noisy = [
        Stratum(s.point, s.point + rng.normal(0, 0.03, (500, len(s.point))), s.width)
        for s in fixed_rows(x, y)
    ]
    wide = stratified(noisy, 0.95, 4000)
    assert wide["ci_high"] - wide["ci_low"] > fixed["ci_high"] - fixed["ci_low"]
