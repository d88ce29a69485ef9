"""Trainings and evaluations: new eval settings score the saved models and train nothing; an edited data
file trains again exactly the runs that read it; training.keep=none trains again for a later evaluation.

run: .venv/bin/python -m pytest tests/sweep/test_identities.py -q
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from mixft.runner.data.samples import sample_rows
from tests.sweep.test_sweep import mixft

pytestmark = pytest.mark.smoke

QUICK = ["training.max_steps=2", "eval.max_examples=4"]


def runs_root() -> Path:
    return Path(os.environ["MIXFT_HOME"]) / "runs"


def fingerprints() -> dict[str, str]:
    """SHA-256 of every file a training wrote (train.log, weights, manifest) by path."""
    found = {}
    for training in runs_root().iterdir():
        for path in [training / "train.log", training / "manifest.json", *(training / "model").glob("*")]:
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def plan_rows(*args: str) -> list[dict]:
    result = mixft("plan", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def compare_rows(*args: str) -> list[dict]:
    result = mixft("compare", *args, "--format", "json", "--view", "all")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["rows"]


@pytest.mark.slow  # a whole sweep: test-all runs it, the fast tier stays under 5 minutes
def test_new_eval_settings_or_tasks_score_the_saved_models_and_train_nothing():
    done = mixft("sweep", "smoke", *QUICK)
    assert done.returncode == 0, done.stdout + done.stderr
    trained = fingerprints()
    assert len(trained) > 5  # five trainings' logs, manifests and weights

    assert {row["work"] for row in plan_rows("smoke", "training.max_steps=2", "eval.max_examples=8")} == {
        "eval"
    }
    again = mixft("sweep", "smoke", "training.max_steps=2", "eval.max_examples=8")
    assert again.returncode == 0, again.stdout + again.stderr
    assert fingerprints() == trained  # not one training file touched
    rows = compare_rows("smoke", "training.max_steps=2", "eval.max_examples=8")
    assert rows and {row["n_examples"] for row in rows} == {8}

    added = mixft("eval", "smoke", *QUICK, "eval.tasks=[fiqa_sa,twitter_sa]")
    assert added.returncode == 0, added.stdout + added.stderr
    assert fingerprints() == trained
    status = json.loads(mixft("status", "smoke", "--format", "json").stdout)
    assert {row["state"] for row in status} == {"done"}
    assert {row["training_state"] for row in status} == {"done", "base"}
    folders = [Path(row["run_dir"]) for row in status]
    assert all((f / "predictions" / "twitter_sa.jsonl").exists() for f in folders)  # scored, untrained


def local_fpb_and_headline(folder: Path) -> list[str]:
    """Overrides for a sweep on local copies of fpb and headline (no sample suite)."""
    out = []
    for task in ("fpb", "headline"):
        for split, name in (("train", "train"), ("eval", "test")):
            rows = sample_rows(task, split, 48)
            (folder / f"{task}_{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        out.append(f"task.{task}.source.path='{folder}/{task}_{{split}}.jsonl'")
    return out


@pytest.mark.slow
def test_editing_one_data_file_trains_again_exactly_the_runs_that_read_it(tmp_path):
    sweep = tmp_path / "files.yaml"
    base = [
        "model=tiny",
        "training=smoke",
        "eval=smoke",
        "eval.tasks=[]",
        *QUICK,
        *local_fpb_and_headline(tmp_path),
    ]
    sweep.write_text(
        "name: files\nmixtures: {tasks: [fpb, headline], generators: [singles, all]}\nbase:\n"
        + "".join(f"  - {json.dumps(o)}\n" for o in base)
    )
    first = mixft("sweep", str(sweep))
    assert first.returncode == 0, first.stdout + first.stderr
    before = {row["training"]: row for row in plan_rows(str(sweep))}
    assert {row["work"] for row in before.values()} == {"done"}

    train_file = tmp_path / "fpb_train.jsonl"
    lines = train_file.read_text().splitlines()
    row = json.loads(lines[3])
    row["sentence"] = row["sentence"] + " Edited."
    train_file.write_text("\n".join([*lines[:3], json.dumps(row), *lines[4:]]) + "\n")

    after = plan_rows(str(sweep))
    retrain = [row for row in after if row["work"] == "train"]
    assert sorted(tuple(row["tasks"]) for row in retrain) == [("fpb",), ("fpb", "headline")]
    assert all(row["why"] == f"data changed: {train_file}" for row in retrain), retrain
    assert {row["work"] for row in after if row not in retrain} == {"done"}  # headline, the base model
    assert all(row["training"] not in before for row in retrain)
    kept = {row["training"] for row in after if row not in retrain}
    assert kept <= set(before)

    second = mixft("sweep", str(sweep))
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count(" start ") == 2, second.stdout  # the two runs that read the file


@pytest.mark.slow
def test_weights_not_kept_are_trained_again_for_a_later_evaluation():
    args = ["smoke", *QUICK, "training.keep=none", "--only", "size=1"]
    done = mixft("sweep", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    trainings = [p for p in runs_root().iterdir() if (p / "train.log").exists()]
    assert trainings and not any((p / "model").exists() for p in trainings)
    assert not any((p / "checkpoints").exists() for p in trainings)

    plan = plan_rows("smoke", "training.max_steps=2", "eval.max_examples=8", "training.keep=none")
    trained = [row for row in plan if row["role"] == "baseline"]
    assert {row["work"] for row in trained} == {"train"}
    assert {row["why"] for row in trained} == {"weights not kept (training.keep=none): trains again"}
    refused = mixft(
        "eval",
        "smoke",
        "training.max_steps=2",
        "eval.max_examples=8",
        "training.keep=none",
        "--only",
        "size=1",
    )
    assert "no saved model to score" in refused.stderr and "weights not kept" in refused.stderr, (
        refused.stderr
    )
