"""compare's intervals and corrected counts on simulated studies with a known truth (calibration.py).

run: pytest tests/unit/test_compare_calibration.py    (the figures in docs/compare.md: python
     tests/bench/compare_calibration.py)
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit import calibration as cal

PER_CASE = 300  # 4 cases: 1,200 comparisons per setting
STUDIES, MIXTURES = 200, 10


def coverages(compare) -> dict[str, float]:
    rng = np.random.default_rng(2026)
    return {c.name: cal.coverage([compare(rng, c) for _ in range(PER_CASE)], cal.truth(c)) for c in cal.CASES}


def check(found: dict[str, float]) -> None:
    overall = float(np.mean(list(found.values())))
    assert 0.93 <= overall <= 0.97, found
    assert all(0.9 <= c <= 0.99 for c in found.values()), found  # no case far off, hidden by the others


def test_the_simulated_seed_spread_is_the_measured_one():
    rng = np.random.default_rng(1)
    case = cal.CASES[0]
    deltas = [cal.compared(rng, cal.Case("one seed", 0.0, case.tau, seeds=1)).estimate for _ in range(400)]
    assert np.std(deltas) == pytest.approx(0.14, abs=0.02)  # per-seed deltas' sd in the tweets study


def test_intervals_over_three_seeds_cover_the_truth_95_percent_of_the_time():
    check(coverages(cal.compared))


def test_one_seed_intervals_with_a_pooled_seed_variance_cover_the_truth():
    check(coverages(cal.compared_one_seed))


@pytest.mark.parametrize("case", [cal.CASES[0], cal.CASES[2]], ids=["seed-noise", "row-noise"])
def test_under_the_null_holm_calls_a_mixture_better_in_at_most_5_percent_of_studies(case):
    rng = np.random.default_rng(7)
    holm = [cal.null_study(rng, MIXTURES, case, "holm") for _ in range(STUDIES)]
    raw = [cal.null_study(rng, MIXTURES, case, "none") for _ in range(STUDIES // 2)]
    assert np.mean(np.array(holm) > 0) <= 0.05
    assert np.mean(np.array(raw) > 0) > 0.05  # uncorrected, chance alone wins among 10: what Holm prevents
