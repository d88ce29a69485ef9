"""Rehearsal speed: the full rehearsal of the cocktail study on the sample suite, against its runs' own time.

run: make bench    (or: python tests/bench/rehearsal_speed.py)

`mixft sweep cocktail_paper --rehearse data.samples=true`: every training of the study (55) and the
base-model row on the tiny model, 2 steps each, on this host's CPU workers. Targets: every run done,
in at most 10 minutes on 2 cores (a study is checked in one coffee break). Baseline: the sum over
runs of their own training + evaluation seconds (metrics.json), measured in the same sweep; with 2
CPU workers the wall time is about half of it, plus the pre-flight and the fork server's start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 600.0


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="mixft-bench-"))
    env = {**os.environ, "MIXFT_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mixft.cli.main",
            "sweep",
            "cocktail_paper",
            "--rehearse",
            "data.samples=true",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    files = list((home / "rehearsal" / "runs").glob("*/evals/*/metrics.json"))
    own = 0.0
    for path in files:
        metrics = json.loads(path.read_text())
        own += metrics.get("time/train_s", 0.0) + metrics.get("time/eval_s", 0.0)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "no output"
    print(f"cocktail_paper rehearsal: {summary}; {len(files)} runs with metrics; {wall:.0f} s wall")
    print(f"the runs' own train + eval time {own:.0f} s (baseline): wall / own {wall / max(own, 1e-9):.2f}x")
    print(f"wall {wall:.0f} s (target <= {TARGET_S:.0f} s, every run done)")
    sys.exit(0 if done.returncode == 0 and wall <= TARGET_S else 1)


if __name__ == "__main__":
    main()
