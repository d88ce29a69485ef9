"""`mixft compare` speed on a study-sized store, and its bootstrap against scipy.stats.bootstrap.

run: make bench    (or: python tests/bench/compare_speed.py --examples 1000)

1. Interval: one mixture-vs-baseline comparison over N eval rows, 10,000 resamples, by
   `stats.sample` + `intervals.delta_interval` (resamples drawn as multinomial counts over outcome
   groups) and by
   scipy.stats.bootstrap resampling rows (the baseline, vectorised, paired, percentile). Target: >= 10x.
2. Whole command: the cocktail_paper plan (224 runs) recorded in a fresh store, every run given
   predictions on its eval tasks (N rows each), then `mixft compare cocktail_paper --view all` in
   process, against the baseline of only reading every predictions file (json per line). Reported as
   a ratio; target: compare costs at most 3x the reading it cannot avoid.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

STATS_TARGET = 10.0
COMMAND_TARGET = 3.0
REPEATS = 3


def _median_seconds(call, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interval_ratio(examples: int) -> tuple[float, float]:
    import numpy as np
    from scipy import stats as scipy_stats

    from mixft.runner.compare.intervals import delta_interval
    from mixft.runner.compare.stats import sample

    rng = np.random.default_rng(0)
    run, ref = (rng.random(examples) < 0.7).astype(int), (rng.random(examples) < 0.6).astype(int)
    ours = _median_seconds(lambda: delta_interval(sample("accuracy", np.column_stack([run, ref])), 1, 0.95))
    theirs = _median_seconds(
        lambda: scipy_stats.bootstrap(
            (run, ref), lambda x, y, axis: x.mean(axis) - y.mean(axis), paired=True, vectorized=True,
            n_resamples=10_000, method="percentile", random_state=0,
        )
    )  # fmt: skip
    return ours, theirs


def build_store(examples: int) -> int:
    """Record cocktail_paper and give every run predictions; returns the number of files written."""
    import numpy as np

    from mixft.runner.config.run import eval_tasks
    from mixft.runner.execute.sweep import record
    from mixft.runner.paths import run_dir
    from mixft.runner.plan.grid import expand
    from mixft.runner.plan.sweepfile import load_sweep
    from mixft.runner.store import status as states
    from mixft.runner.store.atomic import write_json

    plan = expand(load_sweep("cocktail_paper"))
    record(plan)
    rng, files = np.random.default_rng(1), 0
    for run in plan.runs:
        folder = run_dir(run.id)
        (folder / "predictions").mkdir(exist_ok=True)
        metrics = {}
        for task in eval_tasks(run.config):
            correct = rng.random(examples) < 0.6
            lines = [
                json.dumps({"index": i, "gold": "1", "output": "1", "prediction": "1", "correct": bool(c)})
                for i, c in enumerate(correct)
            ]
            (folder / "predictions" / f"{task}.jsonl").write_text("\n".join(lines) + "\n")
            kind = run.config.task[task].kind
            metrics[f"eval/{task}/{'accuracy' if kind == 'classification' else 'numeric_accuracy'}"] = float(
                correct.mean()
            )
            files += 1
        write_json(folder / "metrics.json", metrics)
        states.set_state(folder, "running")
        states.set_state(folder, "done")
    return files


def command_ratio() -> tuple[float, float, int]:
    from pathlib import Path

    from typer.testing import CliRunner

    from mixft.cli.main import app

    store = Path(os.environ["MIXFT_HOME"])

    def read_all() -> int:
        return sum(
            len([json.loads(x) for x in p.read_text().splitlines()])
            for p in store.glob("runs/*/predictions/*.jsonl")
        )

    def compare() -> None:
        result = CliRunner().invoke(app, ["compare", "cocktail_paper", "--view", "all", "--format", "json"])
        assert result.exit_code == 0, result.output

    rows = len(
        json.loads(
            CliRunner().invoke(app, ["compare", "cocktail_paper", "--view", "all", "--format", "json"]).stdout
        )["rows"]
    )
    return _median_seconds(compare, 1), _median_seconds(read_all, 1), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="eval rows per task")
    args = parser.parse_args()
    os.environ["MIXFT_HOME"] = tempfile.mkdtemp(prefix="mixft-bench-")
    ours, theirs = interval_ratio(args.examples)
    stats_ratio = theirs / ours
    print(
        f"interval over {args.examples} rows, 10,000 resamples: {ours * 1e3:.1f} ms; scipy.stats.bootstrap (baseline) {theirs * 1e3:.1f} ms: {stats_ratio:.1f}x faster (target >= {STATS_TARGET:g}x)"
    )
    files = build_store(args.examples)
    seconds, reading, rows = command_ratio()
    command = seconds / reading
    print(
        f"mixft compare cocktail_paper --view all: {rows} comparisons from {files} prediction files of {args.examples} rows in {seconds:.1f} s; reading them alone (baseline) {reading:.1f} s: {command:.2f}x the reading (target <= {COMMAND_TARGET:g}x)"
    )
    sys.exit(0 if stats_ratio >= STATS_TARGET and command <= COMMAND_TARGET else 1)


if __name__ == "__main__":
    main()
