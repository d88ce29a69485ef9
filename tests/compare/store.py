"""Build a store whose runs have known predictions, so compare's answers can be checked by hand."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mixft.runner.execute.sweep import record
from mixft.runner.paths import run_dir, training_dir
from mixft.runner.plan.grid import PlannedRun, expand
from mixft.runner.plan.sweepfile import load_sweep
from mixft.runner.store import status as states
from mixft.runner.store.atomic import write_json

N = 60  # eval rows per task
SWEEP = """\
name: known
base: [model=tiny, training=smoke, eval=smoke, data.samples=true]
grid:
  regularizer: none,general
mixtures:
  tasks: [fpb, headline, finqa]
  generators: [singles, pairs]
seeds: [0, 1]
exclude:
  - {regularizer: general, size: 1}
"""
LABELS = {
    "fpb": ["negative", "neutral", "positive"],
    "headline": ["Yes", "No"],
    "fiqa_sa": ["negative", "neutral", "positive"],
}

# run -> task -> correct (one bool per eval row), or None when the run did not finish
Outcomes = Callable[[PlannedRun], dict[str, np.ndarray] | None]


def gold(task: str, i: int) -> str:
    labels = LABELS.get(task)
    return labels[i % len(labels)] if labels else str(10 + i)


def _row(task: str, i: int, correct: bool) -> dict:
    answer = gold(task, i)
    if task in LABELS:
        labels = LABELS[task]
        prediction = answer if correct else labels[(labels.index(answer) + 1) % len(labels)]
        return {
            "index": i,
            "gold": answer,
            "output": prediction,
            "prediction": prediction,
            "correct": correct,
        }
    number = float(answer) if correct else float(answer) + 1
    return {"index": i, "gold": answer, "output": f"{number:g}", "prediction": number, "correct": correct}


def _train(run: PlannedRun, state: str, error: str | None = None) -> None:
    """Mark the run's training `state` as its run would have (the base model is never trained)."""
    training = training_dir(run.id)
    if run.role != "base" and states.read_status(training)["state"] != "done":
        states.set_state(training, "running")
        states.set_state(training, state, error)


def finish(run: PlannedRun, outcome: dict[str, np.ndarray]) -> None:
    """Write predictions and metrics for `run` and mark it, and its training, done."""
    _train(run, "done")
    folder = run_dir(run.id)
    metrics = {}
    for task, correct in outcome.items():
        rows = [_row(task, i, bool(c)) for i, c in enumerate(correct)]
        (folder / "predictions").mkdir(parents=True, exist_ok=True)
        (folder / "predictions" / f"{task}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        name = "accuracy" if task in LABELS else "numeric_accuracy"
        metrics[f"eval/{task}/{name}"] = float(np.mean(correct))
    write_json(folder / "metrics.json", metrics)
    states.set_state(folder, "running")
    states.set_state(folder, "done")


def fail(run: PlannedRun, error: str) -> None:
    """Mark `run` failed with `error`, in its training (unless done) as in its own folder."""
    _train(run, "failed", error)
    folder = run_dir(run.id)
    states.set_state(folder, "running")
    states.set_state(folder, "failed", error)


def build(tmp_path: Path, outcomes: Outcomes, sweep: str = SWEEP) -> list[PlannedRun]:
    """Record the sweep in the store and finish every run with its outcomes (None: left pending)."""
    path = tmp_path / "known.yaml"
    path.write_text(sweep)
    plan = expand(load_sweep(str(path)))
    record(plan)
    for run in plan.runs:
        outcome = outcomes(run)
        if outcome is not None:
            finish(run, outcome)
    return plan.runs
