"""Helpers for the reliability suites: sweeps in subprocesses, a store's files, results to compare."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from mixft.runner.paths import run_dir, runs_root, training_dir

REPO = Path(__file__).resolve().parents[2]

# Short runs that still checkpoint (steps 2, 4, 6), log every step's loss (so train/loss survives a
# resume exactly) and keep a constant learning rate (a step past max_steps would change the weights).
BASE = """\
base:
  - model=tiny
  - training=smoke
  - eval=smoke
  - data.samples=true
  - training.max_steps=6
  - training.save_steps=2
  - training.logging_steps=1
  - training.lr_scheduler_type=constant
  - eval.max_examples=8
  - eval.tasks=[]
"""
# metrics that depend on the clock or on the attempt, not on the result
VOLATILE = (
    "time/",
    "train/runtime_s",
    "train/resumed_from_step",
    "train/loss",
    # this attempt's throughput: tokens trained since its resume point, per second of it
    "train/tokens",
    "train/mfu",
    "train/peak_memory_gb",
)


def write_sweep(folder: Path, name: str, seeds: list[int], tasks: str = "[fpb]", extra: str = "") -> Path:
    """A sweep file of single-task runs, one per seed (the same seed is the same run in every sweep)."""
    path = folder / f"{name}.yaml"
    path.write_text(
        f"# run: mixft sweep {path.name}\nname: {name}\n"
        f"mixtures: {{tasks: {tasks}, generators: [singles]}}\nseeds: {seeds}\n"
        f"baselines: false\nbase_model: false\n{BASE}{extra}"
    )
    return path


def env_for(store: Path, **extra: str) -> dict[str, str]:
    """The environment of a subprocess working on `store`, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "MIXFT_"))}
    env |= {"MIXFT_HOME": str(store), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return env | {"WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"} | extra


def mixft(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`mixft ARGS` in a subprocess, as a person runs it."""
    cmd = [sys.executable, "-m", "mixft.cli.main", *args]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def status_rows(env: dict[str, str], sweep: Path) -> dict[str, dict[str, Any]]:
    """`mixft status SWEEP --format json`, by run id (the command must succeed)."""
    result = mixft(env, "status", str(sweep), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    return {row["id"]: row for row in json.loads(result.stdout)}


def run_ids(sweep: Path) -> list[str]:
    """The sweep's run ids, in seed order."""
    from mixft.runner.plan.grid import expand
    from mixft.runner.plan.sweepfile import load_sweep

    runs = sorted(expand(load_sweep(str(sweep))).runs, key=lambda run: run.config.seed)
    return [run.id for run in runs]


def assert_store_readable(store: Path) -> None:
    """Every JSON, JSONL and YAML file a reader trusts parses (hidden temporary files aside)."""
    for path in store.rglob("*"):
        relative = path.relative_to(store).parts
        if not path.is_file() or any(p.startswith(".") for p in relative) or "wandb" in relative:
            continue
        text = path.read_text(encoding="utf-8") if path.suffix in (".json", ".jsonl", ".yaml") else ""
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".jsonl":
            [json.loads(line) for line in text.splitlines()]
        elif path.suffix == ".yaml":
            yaml.safe_load(text)


def run_folder(store: Path, rid: str) -> Path:
    """The run's folder in `store`: runs/<training>/evals/<eval>/."""
    return store / "runs" / run_dir(rid).relative_to(runs_root())


def training_folder(store: Path, rid: str) -> Path:
    """The folder of the run's training in `store`: runs/<training>/."""
    return store / "runs" / training_dir(rid).relative_to(runs_root())


def status_file(store: Path, rid: str, training: bool = False) -> dict[str, Any]:
    """The run's status.json, or its training's."""
    folder = training_folder(store, rid) if training else run_folder(store, rid)
    return json.loads((folder / "status.json").read_text())


def results(store: Path, rid: str) -> dict[str, Any]:
    """What a run produced: metrics that do not depend on the attempt, its weights, its predictions."""
    folder = run_folder(store, rid)
    metrics = json.loads((folder / "metrics.json").read_text())
    weights = training_folder(store, rid) / "model" / "model.safetensors"
    return {
        "metrics": {k: v for k, v in metrics.items() if not k.startswith(VOLATILE)},
        "loss": metrics.get("train/loss"),
        "weights": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "predictions": {p.name: p.read_text() for p in sorted((folder / "predictions").glob("*.jsonl"))},
    }


def assert_same_results(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Same metrics, weights and predictions; the whole-run mean loss equal to float rounding."""
    assert got["metrics"] == want["metrics"]
    assert got["weights"] == want["weights"]
    assert got["predictions"] == want["predictions"]
    assert abs(got["loss"] - want["loss"]) < 1e-6 * abs(want["loss"]), (got["loss"], want["loss"])
