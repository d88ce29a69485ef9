"""The grouped multinomial bootstrap against scipy.stats.bootstrap over rows, macro-F1 against the
metric module, and the one-seed interval (eval rows only) against scipy's."""

from __future__ import annotations

import numpy as np
import pytest

from mixft.runner.compare.intervals import ROWS, delta_interval
from mixft.runner.compare.stats import sample, scores
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


def one_seed(metric: str, run: np.ndarray, ref: np.ndarray, gold=None, n_labels: int = 0):
    return delta_interval(sample(metric, np.column_stack([run, ref]), gold, n_labels), 1, 0.95)


@pytest.mark.parametrize("seeds", [1, 3])
def test_draws_of_a_mean_of_columns_match_resampling_rows(seeds):
    rng = np.random.default_rng(seeds)
    runs = (rng.random((300, seeds)) < 0.7).astype(int)
    refs = (rng.random((300, seeds)) < 0.6).astype(int)
    found = sample("accuracy", np.column_stack([runs, refs]))
    draws = found.draws[:, :seeds].mean(axis=1) - found.draws[:, seeds:].mean(axis=1)
    diffs = (runs - refs).mean(axis=1)
    low, high = rows_bootstrap(np.mean, diffs, resamples=20_000)
    assert found.point[:seeds].mean() - found.point[seeds:].mean() == pytest.approx(diffs.mean())
    assert np.quantile(draws, 0.025) == pytest.approx(low, abs=0.01)
    assert np.quantile(draws, 0.975) == pytest.approx(high, abs=0.01)


def test_one_seed_is_an_eval_rows_interval_that_claims_nothing():
    rng = np.random.default_rng(4)
    run, ref = (rng.random(300) < 0.9).astype(int), (rng.random(300) < 0.5).astype(int)
    got = one_seed("accuracy", run, ref)
    low, high = rows_bootstrap(np.mean, run - ref, resamples=20_000)
    assert got.method == ROWS and got.p_value is None
    assert got.low == pytest.approx(low, abs=0.01) and got.high == pytest.approx(high, abs=0.01)
    assert got.low > 0 and got.significant == 0  # far from zero, and still no claim from one seed


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
    got = one_seed("macro_f1", run, ref, gold, 3)
    assert got.estimate == pytest.approx(f1(run, gold) - f1(ref, gold))
    low, high = rows_bootstrap(lambda r, s, g: f1(r, g) - f1(s, g), run, ref, gold, resamples=2000)
    assert got.low == pytest.approx(low, abs=0.02) and got.high == pytest.approx(high, abs=0.02)


def test_identical_runs_give_a_zero_width_interval_at_zero():
    same = np.array([[1], [0], [1], [1]])
    got = one_seed("accuracy", same, same)
    assert (got.estimate, got.low, got.high, got.significant) == (0, 0, 0, 0)


def test_the_same_inputs_give_the_same_interval():
    rng = np.random.default_rng(0)
    runs, refs = (rng.random((50, 1)) < 0.5).astype(int), (rng.random((50, 1)) < 0.5).astype(int)
    assert one_seed("accuracy", runs, refs) == one_seed("accuracy", runs, refs)


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="unknown metric"):
        scores("bleu", np.ones((3, 1), dtype=int), None)
