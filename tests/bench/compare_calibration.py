"""Calibration of compare's intervals on simulated studies with a known truth: coverage and false claims.

run: make bench    (or: python tests/bench/compare_calibration.py --per-case 1000)

The studies of tests/unit/calibration.py (eval rows drawn from a population, seeds shifting each arm,
binary answers; 128 rows): the share of 95% intervals that hold the true delta, per case, at 2, 3
and 5 seeds, and at one seed with a pooled seed variance from baselines run at 3 or 5 seeds
(calibration_seeds); then, with 10 mixtures no better than their shared baseline at 3 seeds, the
share of studies in which compare calls at least one better, under each correction. Target: 3-seed
coverage within 93-97% over the cases, and Holm's share of studies with a false ▲ at most 5%.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.unit import calibration as cal  # noqa: E402


def coverage_table(per_case: int) -> float:
    rng = np.random.default_rng(11)
    settings = [("2 seeds", 2, None), ("3 seeds", 3, None), ("5 seeds", 5, None)]
    settings += [("1 seed, pooled from 3", 1, 3), ("1 seed, pooled from 5", 1, 5)]
    print(f"coverage of 95% intervals ({per_case} studies per cell, 128 eval rows)")
    print(f"{'case':48s}" + "".join(f"{name:>24s}" for name, _, _ in settings))
    three = []
    for case in cal.CASES:
        cells = []
        for _, seeds, calibration in settings:
            c = dataclasses.replace(case, seeds=max(seeds, 1))
            if calibration is None:
                found = [cal.compared(rng, c) for _ in range(per_case)]
            else:
                found = [cal.compared_one_seed(rng, c, calibration) for _ in range(per_case)]
            cells.append(cal.coverage(found, cal.truth(case)))
        three.append(cells[1])
        print(f"{case.name:48s}" + "".join(f"{x:24.3f}" for x in cells))
    return float(np.mean(three))


def null_table(studies: int) -> float:
    rng = np.random.default_rng(12)
    print(f"\nstudies with at least one false ▲ among 10 null mixtures ({studies} studies, 3 seeds)")
    holm = []
    for case in (cal.CASES[0], cal.CASES[2]):
        shares = {}
        for correction in ("holm", "fdr", "none"):
            counts = [cal.null_study(rng, 10, case, correction) for _ in range(studies)]
            shares[correction] = float(np.mean(np.array(counts) > 0))
        holm.append(shares["holm"])
        print(
            f"{case.name:48s} holm {shares['holm']:.3f}   fdr {shares['fdr']:.3f}   none {shares['none']:.3f}"
        )
    return max(holm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-case", type=int, default=1000)
    parser.add_argument("--studies", type=int, default=400)
    args = parser.parse_args()
    three = coverage_table(args.per_case)
    worst = null_table(args.studies)
    met = 0.93 <= three <= 0.97 and worst <= 0.05
    print(
        f"\n3-seed coverage over the cases: {three:.3f} (target 0.93-0.97); Holm's worst share: {worst:.3f} (target <= 0.05)"
    )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
