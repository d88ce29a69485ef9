"""The grouped multinomial bootstrap against scipy.stats.bootstrap over rows, and macro-F1 against
the metric module."""

from __future__ import annotations

import numpy as np
import pytest

from mixft.runner.compare.stats import delta_interval, scores
from mixft.runner.scoring.metrics import classification_metrics


def rows_bootstrap(statistic, *samples: np.ndarray, resamples: int = 4000) -> tuple[float, float]:
    from scipy import stats

    result = stats.bootstrap(
        samples,
        statistic,
        paired=True,
        vectorized=False,
        n_resamples=resamples,
        method="percentile",
        random_state=3,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@pytest.mark.parametrize("seeds", [1, 3])
def test_accuracy_interval_matches_resampling_rows(seeds):
    rng = np.random.default_rng(seeds)
    runs = (rng.random((300, seeds)) < 0.7).astype(int)
    refs = (rng.random((300, seeds)) < 0.6).astype(int)
    got = delta_interval("accuracy", runs, refs)
    diffs = (runs - refs).mean(axis=1)
    low, high = rows_bootstrap(np.mean, diffs, resamples=20_000)
    assert got.estimate == pytest.approx(diffs.mean())
    assert got.low == pytest.approx(low, abs=0.01) and got.high == pytest.approx(high, abs=0.01)


def test_macro_f1_matches_the_metric_module_and_resampling_rows():
    labels = ["a", "b", "c"]
    rng = np.random.default_rng(7)
    gold = rng.integers(0, 3, 200)
    noisy = lambda p: np.where(rng.random(200) < p, gold, rng.integers(0, 4, 200))  # 3: no label  # noqa: E731
    run, ref = noisy(0.8), noisy(0.5)

    def f1(codes: np.ndarray, golds: np.ndarray) -> float:
        preds = [labels[c] if c < 3 else None for c in codes]
        return classification_metrics(preds, [labels[g] for g in golds], labels)["macro_f1"]

    assert scores("macro_f1", np.column_stack([run, ref]), gold, 3) == pytest.approx(
        [f1(run, gold), f1(ref, gold)]
    )
    got = delta_interval("macro_f1", run[:, None], ref[:, None], gold, 3)
    assert got.estimate == pytest.approx(f1(run, gold) - f1(ref, gold))
    low, high = rows_bootstrap(lambda r, s, g: f1(r, g) - f1(s, g), run, ref, gold, resamples=2000)
    assert got.low == pytest.approx(low, abs=0.02) and got.high == pytest.approx(high, abs=0.02)


def test_identical_runs_give_a_zero_width_interval_at_zero():
    same = np.array([[1], [0], [1], [1]])
    got = delta_interval("accuracy", same, same)
    assert (got.estimate, got.low, got.high, got.significant) == (0, 0, 0, 0)


def test_the_same_inputs_give_the_same_interval():
    rng = np.random.default_rng(0)
    runs, refs = (rng.random((50, 1)) < 0.5).astype(int), (rng.random((50, 1)) < 0.5).astype(int)
    assert delta_interval("accuracy", runs, refs) == delta_interval("accuracy", runs, refs)


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="unknown metric"):
        scores("bleu", np.ones((3, 1), dtype=int), None)
