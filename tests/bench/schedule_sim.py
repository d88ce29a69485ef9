"""Scheduling: the cocktail_paper sweep on 8 GPUs, simulated, against FIFO and the lower bound.

run: make bench    (or: python tests/bench/schedule_sim.py --gpus 8)

Per-run cost is mixft's own estimate (training rows x epochs x parameters; base runs: evaluation).
Runs go to the first free GPU; our order is longest first, FIFO is plan order. The lower bound of
any schedule is max(longest run, total / GPUs).
"""

from __future__ import annotations

import argparse
import heapq
import sys

from mixft.runner.execute.sweep import estimated_cost
from mixft.runner.plan.grid import expand
from mixft.runner.plan.sweepfile import load_sweep


def makespan(costs: list[float], machines: int) -> float:
    """Finish time of list scheduling: each job goes to the machine that frees up first."""
    free = [0.0] * machines
    for cost in costs:
        heapq.heappush(free, heapq.heappop(free) + cost)
    return max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=8)
    gpus = parser.parse_args().gpus
    costs = [estimated_cost(run) for run in expand(load_sweep("cocktail_paper")).runs]
    bound = max(max(costs), sum(costs) / gpus)
    ours = makespan(sorted(costs, reverse=True), gpus)
    fifo = makespan(costs, gpus)
    print(f"cocktail_paper: {len(costs)} runs on {gpus} GPUs (costs relative; lower bound = 1.000)")
    print(f"longest first (mixft) {ours / bound:6.3f} x bound   (target <= 1.05)")
    print(f"first in, first out   {fifo / bound:6.3f} x bound")
    sys.exit(0 if ours <= 1.05 * bound else 1)


if __name__ == "__main__":
    main()
