"""Pre-flight: a source that cannot load, or rows that do not fit their task, stop a sweep before any
run trains; a run loads its eval data before it trains."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mixft.runner.data.samples import sample_rows
from tests.sweep.test_sweep import mixft

pytestmark = pytest.mark.smoke


def local_tasks(tmp_path: Path, eval_source: str) -> list[str]:
    """Overrides for a tiny run on local files: fpb from its sample rows, fiqa_sa (held out) from
    `eval_source`; no sample suite, so every source is read as a user's would be."""
    for split, name in (("train", "train"), ("eval", "test")):
        rows = sample_rows("fpb", split, 64)
        (tmp_path / f"fpb_{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return [
        "model=tiny",
        "training=smoke",
        "eval=smoke",
        "training.max_steps=2",
        "eval.max_examples=4",
        f"task.fpb.source.path='{tmp_path}/fpb_{{split}}.jsonl'",
        f"task.fiqa_sa.source.path='{tmp_path}/{eval_source}'",
    ]


def local_sweep(tmp_path: Path) -> str:
    """A sweep file training fpb alone on local files, fiqa_sa held out from fiqa_{split}.jsonl."""
    path = tmp_path / "local.yaml"
    overrides = local_tasks(tmp_path, "fiqa_{split}.jsonl")
    path.write_text(
        "name: local\nmixtures: {sets: [[fpb]]}\nbase:\n"
        + "".join(f"  - {json.dumps(o)}\n" for o in overrides)
    )
    return str(path)


def test_a_sweep_whose_eval_source_is_missing_stops_before_training(tmp_path):
    result = mixft("sweep", local_sweep(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pre-flight, eval split of task 'fiqa_sa'" in lines[0], result.stderr
    assert "fiqa_test.jsonl: file not found" in lines[0] and "nothing was trained" in lines[0]
    assert not (Path(os.environ["MIXFT_HOME"]) / "runs").exists()  # not even planned into the store


def test_rows_that_do_not_fit_their_task_stop_the_sweep(tmp_path):
    rows = [{"text": "Shares rose.", "answer": "positive"}, {"text": "Shares fell.", "answer": "bearish"}]
    (tmp_path / "fiqa_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = mixft("sweep", local_sweep(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "task 'fiqa_sa'" in result.stderr and "row 2" in result.stderr and "bearish" in result.stderr, (
        result.stderr
    )


def test_a_run_loads_its_eval_data_before_it_trains(tmp_path):
    overrides = [*local_tasks(tmp_path, "fiqa_{split}.jsonl"), "mixture.tasks=[fpb]"]
    result = mixft("run", *overrides)
    assert result.returncode == 2 and "fiqa_test.jsonl: file not found" in result.stderr, result.stderr
    [folder] = (Path(os.environ["MIXFT_HOME"]) / "runs").iterdir()
    assert not (folder / "train.log").exists() and not (folder / "checkpoints").exists()
