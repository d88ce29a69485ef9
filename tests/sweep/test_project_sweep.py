"""A project folder reaches the runs a sweep starts: `mixft --config-dir DIR` from anywhere, the
run processes read DIR's tasks through MIXFT_CONFIG_PATH.

run: .venv/bin/python -m pytest tests/sweep/test_project_sweep.py -q
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mixft.runner.config.project import TASK, init_project
from tests.sweep.test_sweep import mixft

pytestmark = pytest.mark.smoke


@pytest.mark.slow  # a whole sweep: test-all runs it, the fast tier stays under 5 minutes
def test_runs_started_from_elsewhere_read_the_project_folder(tmp_path, monkeypatch):
    init_project(tmp_path / "demo")
    monkeypatch.chdir(tmp_path / "demo" / "data")  # inside the project, but not its root: no project
    result = mixft("--config-dir", "..", "sweep", "demo", "--rehearse")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"checked     task {TASK}, train split" in result.stdout
    runs = Path(os.environ["MIXFT_HOME"]) / "rehearsal" / "runs"
    metrics = [json.loads(p.read_text()) for p in runs.glob("*/evals/*/metrics.json")]
    assert len(metrics) == 4 and any(f"eval/{TASK}/accuracy" in m for m in metrics)
