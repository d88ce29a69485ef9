"""`mixft sweep SWEEP --rehearse`: the sweep's shape on the tiny model, real rows, a store of its own.

run: .venv/bin/python -m pytest tests/sweep/test_rehearse.py -q
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.sweep.test_sweep import mixft

pytestmark = pytest.mark.smoke


def home() -> Path:
    return Path(os.environ["MIXFT_HOME"])


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
