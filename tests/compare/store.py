"""Build a store whose runs have known predictions (and suite records), so compare's answers can be
checked by hand."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mixft.runner.execute.sweep import record
from mixft.runner.paths import run_dir, training_dir
from mixft.runner.plan.grid import PlannedRun, expand
from mixft.runner.plan.sweepfile import load_sweep
from mixft.runner.store import rundir
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


def sha(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def suite_settings(
    suite: str, metrics: dict[str, list[str]], changes: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """settings.json of a suite whose tasks report `metrics` (task -> names, primary first), as the
    producer writes it; `changes`: task -> fields that replace that task's settings (num_fewshot)."""
    tasks = {
        task: {
            "num_fewshot": 0,
            "limit": None,
            "apply_chat_template": False,
            "output_type": "multiple_choice",
            "generation_kwargs": None,
            "config_digest": sha("config", task)[:16],
            "n_docs": None,
            "metrics": names,
            "higher_is_better": dict.fromkeys(names, True),
        }
        | (changes or {}).get(task, {})
        for task, names in metrics.items()
    }
    return {"suite": suite, "lm_eval_version": "0.4.13", "engine": "hf", "tasks": tasks}


def add_suite(
    run: PlannedRun,
    suite: str,
    values: dict[str, dict[str, np.ndarray]],
    settings: dict[str, Any],
    prompts: dict[str, dict[int, str]] | None = None,
) -> None:
    """Give a done run a suite's results, as an evaluation with `eval.suites: [suite]` writes them.

    Args:
        run: A run `finish` wrote.
        suite: The suite's name.
        values: task -> metric -> one float per document (doc_id = position).
        settings: The suite's settings.json (see `suite_settings`).
        prompts: task -> doc_id -> a prompt_hash that replaces the usual one (a changed prompt).
    """
    folder = run_dir(run.id)
    records = {}
    for task, metrics in values.items():
        n_docs = len(next(iter(metrics.values())))
        records[task] = [
            {
                "doc_id": i,
                "doc_hash": sha("doc", task, i),
                "prompt_hash": (prompts or {}).get(task, {}).get(i, sha("prompt", task, i)),
                "target_hash": sha("target", task, i),
                "metrics": {name: float(column[i]) for name, column in metrics.items()},
                "response": "",
            }
            for i in range(n_docs)
        ]
        settings["tasks"][task]["n_docs"] = n_docs
    rundir.write_suite(folder, suite, settings, records)
    scores = {
        f"suite/{suite}/{task}/{name}": float(np.mean(column))
        for task, metrics in values.items()
        for name, column in metrics.items()
    }
    write_json(folder / "metrics.json", rundir.read_metrics(folder) | scores)
    config = rundir.read_config(folder)
    config["eval"]["suites"] = [*config["eval"].get("suites", []), suite]
    definition = {"name": suite, "tasks": list(values), "num_fewshot": 0, "limit": None}
    config["suite"] = (config.get("suite") or {}) | {suite: definition | {"apply_chat_template": False}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
