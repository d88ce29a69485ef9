"""Two processes against one: training tokens/s of one run over 2 CPU processes (DDP over gloo) and in one process, the same global batch.

run: make bench    (or: python tests/bench/multiproc_speed.py)

Both sides train the same fpb run of the tiny model for the same steps through `mixft sweep`: one
process with 32 rows a step on both cores (OMP_NUM_THREADS=2), and `--procs-per-run 2` with 16 rows
a step in each of two processes on a core each (DDP over gloo, torchrun): the same rows, the same
global batch, the same cores. Each side runs twice, alternating, and each keeps its best
`train/tokens_per_s` (tokens trained over the trainer's runtime; the processes' start is left out,
it is reported apart). The figure is the ratio. Target: the two-process run records world size 2,
trains the same tokens, and keeps at least a quarter of one process's speed (a floor against a
pathological launch, not a goal). The output names the CPU and its load average: the figure moves
with what else the machine runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 48
SWEEP = """\
# run: mixft sweep {name}.yaml
name: {name}
mixtures: {{tasks: [fpb], generators: [singles]}}
seeds: [{seed}]
baselines: false
base_model: false
base:
  - model=tiny
  - training=smoke
  - eval=smoke
  - data.samples=true
  - training.max_steps={steps}
  - training.save_steps=null
  - training.logging_steps=8
  - training.per_device_train_batch_size={batch}
  - eval.max_examples=8
  - eval.tasks=[]
"""


def run_metrics(home: Path) -> dict[str, dict[str, float]]:
    """Training metrics of every run in the store, by training id."""
    return {
        p.parent.name: json.loads(p.read_text()) for p in (home / "store" / "runs").glob("*/metrics.json")
    }


def side(home: Path, env: dict[str, str], procs: int, seed: int) -> tuple[dict[str, float], float]:
    """Train a fresh run (its own seed) over `procs` processes: its training metrics, the sweep's wall s."""
    name = f"p{procs}s{seed}"
    path = home / f"{name}.yaml"
    path.write_text(SWEEP.format(name=name, seed=seed, steps=STEPS, batch=32 // procs))
    before = set(run_metrics(home))
    cmd = [sys.executable, "-m", "mixft.cli.main", "sweep", str(path), "--procs-per-run", str(procs)]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    (new,) = set(run_metrics(home)) - before
    return run_metrics(home)[new], seconds


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="mixft-bench-"))
    env = {
        **os.environ,
        "MIXFT_HOME": str(home / "store"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "WANDB_MODE": "offline",
    }
    env.pop("OMP_NUM_THREADS", None)  # the executor splits the cores: 2 threads for 1 process, 1 each for 2
    sides: dict[int, list[tuple[dict[str, float], float]]] = {1: [], 2: []}
    for seed in range(2):  # alternating: the machine's speed drifts; a round's two runs train the same rows
        for procs in (1, 2):
            sides[procs].append(side(home, env, procs, seed))
    same_tokens = all(
        a[0]["train/tokens"] == b[0]["train/tokens"] for a, b in zip(sides[1], sides[2], strict=True)
    )
    best = {procs: max(runs, key=lambda r: r[0]["train/tokens_per_s"]) for procs, runs in sides.items()}
    for procs, (m, seconds) in sorted(best.items()):
        print(
            f"{procs} process(es) x {32 // procs} rows: {m['train/tokens_per_s']:7.0f} tokens/s "
            f"(world size {m['train/world_size']:.0f}, {m['train/tokens']:.0f} tokens in {STEPS} steps, "
            f"trainer {m['train/runtime_s']:.1f} s, sweep {seconds:.1f} s wall)"
        )
    info = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")
    print(f"on {cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    one, two = best[1][0], best[2][0]
    ratio = two["train/tokens_per_s"] / one["train/tokens_per_s"]
    print(
        f"two processes / one: {ratio:.2f}x tokens/s; the same tokens each round: {same_tokens} "
        "(target: world size 2, the same tokens, >= 0.25x)"
    )
    outside = {procs: seconds - m["train/runtime_s"] for procs, (m, seconds) in best.items()}
    print(
        f"outside training (start, data, evaluation): {outside[2]:.1f} s over 2 processes (torchrun, two fresh "
        f"interpreters, gloo) against {outside[1]:.1f} s in one process forked from the sweep's server"
    )
    ok = all(m["train/world_size"] == 2 for m, _ in sides[2]) and same_tokens and ratio >= 0.25
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
