"""Sweep overhead: the smoke sweep's wall time against the time its runs spend training and scoring.

run: make bench    (or: python tests/bench/sweep_overhead.py)

Baseline: the sum over runs of their own training + evaluation seconds (`time/train_s` +
`time/eval_s` in metrics.json), measured in the same sweep. With 2 CPU workers the sweep can beat
that sum; the target is a wall time at most 1.3x of it: planning, process starts, model loads and
writing the store cost little beside the runs' own work. (single_run.py compares one run with
`trl sft` on the same recipe.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="mixft-bench-"))
    env = {**os.environ, "MIXFT_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mixft.cli.main", "sweep", "smoke"], env=env, check=True, capture_output=True
    )
    wall = time.perf_counter() - start
    own = 0.0
    runs = list((home / "runs").iterdir())
    for folder in runs:
        metrics = json.loads((folder / "metrics.json").read_text())
        own += metrics.get("time/train_s", 0.0) + metrics.get("time/eval_s", 0.0)
    print(
        f"smoke sweep: {len(runs)} runs, {wall:.1f} s wall; the runs' own train + eval time {own:.1f} s (baseline)"
    )
    print(f"wall / own time: {wall / own:.2f}x (target <= 1.3x)")
    sys.exit(0 if wall <= 1.3 * own else 1)


if __name__ == "__main__":
    main()
