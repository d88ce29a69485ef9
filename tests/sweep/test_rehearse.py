"""`mixft sweep SWEEP --rehearse`: the sweep's shape on the tiny model, real rows, a store of its own.

run: .venv/bin/python -m pytest tests/sweep/test_rehearse.py -q
"""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from mixft.runner.execute.rehearse import REHEARSAL_SEQUENCE
from tests.sweep.test_sweep import mixft

pytestmark = pytest.mark.smoke


def home() -> Path:
    return Path(os.environ["MIXFT_HOME"])


@pytest.mark.slow  # a whole sweep: test-all runs it, the fast tier stays under 5 minutes
def test_a_sample_of_the_study_rehearses_in_a_store_of_its_own():
    result = mixft("sweep", "cocktail_paper", "--rehearse", "data.samples=true", "--sample", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rehearsal: tiny model" in result.stdout
    assert not (home() / "runs").exists()  # the real store is untouched
    runs = list((home() / "rehearsal" / "runs").glob("*/evals/*/run.json"))
    metas = [json.loads(p.read_text()) for p in runs]
    assert {m["model"] for m in metas} == {"tiny"} and len({m["role"] for m in metas}) >= 2
    checked = [line for line in result.stdout.splitlines() if " checked " in line]
    tasks = {line.split("task ", 1)[1].split(",")[0] for line in checked}
    assert {"fpb", "finqa", "fiqa_sa"} <= tasks, checked  # a trained source and the held-out one
    assert all("48 rows;" in line for line in checked)  # every split capped to its first 48 rows
    logs = list((home() / "rehearsal" / "runs").glob("*/train.log"))
    assert logs and all(json.loads(p.read_text().splitlines()[-1])["step"] <= 2 for p in logs)
    for log in logs:
        packed_to_the_tiny_context(log.parent)


def packed_to_the_tiny_context(training: Path) -> None:
    """The trainer packs sequences of the tiny model's context (a recipe's 4096 costs 8x a step); the
    rows are still tokenised and cut at the recipe's own training.max_length, as in the real sweep."""
    from mixft.runner.config.load import load_config
    from mixft.runner.config.run import resolve
    from mixft.runner.store import rundir
    from mixft.runner.train.trl_adapter import to_sft_config

    cfg = resolve(load_config(rundir.read_overrides(training)))
    assert cfg.training.max_length == 4096  # training=full_paper's
    assert json.loads((training / "manifest.json").read_text())["max_length"] == 4096
    args = to_sft_config(cfg, training / "checkpoints", "none")
    assert args.packing and args.max_length == REHEARSAL_SEQUENCE, training


def test_the_packed_length_is_the_tiny_models_context():
    tiny = yaml.safe_load(files("mixft.conf").joinpath("model/tiny.yaml").read_text())
    assert REHEARSAL_SEQUENCE == tiny["context_length"] == tiny["build"]["max_position_embeddings"]


def test_a_broken_column_map_stops_the_rehearsal_in_one_line_naming_the_task():
    result = mixft(
        "sweep", "cocktail_paper", "--rehearse", "data.samples=true", "task.fpb.columns.input=nope"
    )
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "task 'fpb'" in line and "missing column 'nope'" in line and "nothing was trained" in line
    assert not list((home() / "rehearsal").glob("runs/*/train.log"))


def test_sample_goes_with_rehearse():
    result = mixft("sweep", "smoke", "--sample", "2")
    assert result.returncode == 2 and "--sample N (N >= 1) goes with --rehearse" in result.stderr
