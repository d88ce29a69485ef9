"""`mixft sweep --executor slurm` on a real one-node SLURM cluster (started by `make test-slurm`)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from mixft.runner.paths import run_dir
from tests.sweep.test_sweep import assert_all_done_once, mixft, statuses, sweep_file

pytestmark = pytest.mark.slurm


@pytest.fixture(autouse=True)
def _cluster():
    if not os.environ.get("SLURM_CONF") or subprocess.run(["sinfo", "-h"], capture_output=True).returncode:
        pytest.fail("no SLURM cluster: run these tests through `make test-slurm`")


# the test node has 2 CPUs and no GPU: one CPU and 2 GB per task
ON_SLURM = ["--executor", "slurm", "executor.gpus_per_run=0", "executor.cpus_per_task=1", "executor.mem_gb=2"]


def test_a_sweep_runs_on_slurm(tmp_path):
    path = sweep_file(tmp_path)
    result = mixft("sweep", path, *ON_SLURM)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SLURM job array" in result.stdout
    assert_all_done_once(4, trained=3)
    for rid in statuses():
        assert json.loads((run_dir(rid) / "slurm.json").read_text())["job_id"]
    assert "0 to run" in mixft("sweep", path, "--executor", "slurm").stdout


def test_a_cancelled_job_is_recovered_by_a_rerun(tmp_path):
    path = sweep_file(tmp_path, "  - training.max_steps=80\n  - training.save_steps=5\n")
    args = ["sweep", path, *ON_SLURM]
    first = mixft(*args, wait=False)
    deadline = time.time() + 300
    victim = None
    while victim is None:
        assert time.time() < deadline and first.poll() is None, "no run started"
        running = (
            [rid for rid, s in statuses().items() if s["state"] == "running"]
            if (Path(os.environ["MIXFT_HOME"]) / "runs").exists()
            else []
        )
        victim = running[0] if running else None
        time.sleep(0.5)
    job = json.loads((run_dir(victim) / "slurm.json").read_text())["job_id"]
    rows = {row["id"]: row for row in json.loads(mixft("status", path, "--format", "json").stdout)}
    assert rows[victim]["live"]["state"] == "RUNNING"  # queue states come from squeue while the array runs
    assert rows[victim]["live"]["executor"] == "slurm"
    subprocess.run(["scancel", job], check=True)
    first.wait(timeout=600)
    assert statuses()[victim]["state"] in ("interrupted", "running", "failed")
    second = mixft(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert_all_done_once(4, trained=3)
    assert statuses()[victim]["attempts"] >= 2
