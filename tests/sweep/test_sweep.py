"""`mixft sweep` on this host: resume, skip, retry, two sweeps at once, kills at random moments."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.smoke

SWEEP = """\
# run: mixft sweep tiny_test.yaml
name: tiny_test
mixtures: {tasks: [fpb, twitter_sa], generators: [singles, all]}
seeds: [0]
base:
  - model=tiny
  - training=smoke
  - eval=smoke
  - data.samples=true
  - training.max_steps=4
  - training.save_steps=2
  - eval.max_examples=4
  - eval.tasks=[]
"""


def sweep_file(tmp_path: Path, extra: str = "") -> str:
    path = tmp_path / "tiny_test.yaml"
    path.write_text(SWEEP + extra)
    return str(path)


def mixft(*args: str, wait: bool = True) -> subprocess.CompletedProcess | subprocess.Popen:
    cmd = [sys.executable, "-m", "mixft.cli.main", *args]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def statuses(trainings: bool = False) -> dict[str, dict]:
    """status.json of every run (runs/<training>/evals/<eval>/) by run id, or of every training."""
    runs = Path(os.environ["MIXFT_HOME"]) / "runs"
    folders = runs.glob("*") if trainings else runs.glob("*/evals/*")
    # a run dir being written may not hold its status yet; the base model's training has none
    return {
        p.name if trainings else f"{p.parent.parent.name}-{p.name}": json.loads(
            (p / "status.json").read_text()
        )
        for p in folders
        if (p / "status.json").exists()
    }


def assert_all_done_once(expected: int, trained: int) -> None:
    """`expected` runs evaluated once each, `trained` trainings trained once each."""
    for found, count in ((statuses(), expected), (statuses(trainings=True), trained)):
        assert len(found) == count
        for rid, status in found.items():
            assert status["state"] == "done", (rid, status)
            assert [h["state"] for h in status["history"]].count("done") == 1


def test_a_sweep_runs_everything_once_and_a_rerun_skips(tmp_path):
    path = sweep_file(tmp_path)
    first = mixft("sweep", path, "--max-parallel", "2")
    assert first.returncode == 0, first.stdout + first.stderr
    assert_all_done_once(4, trained=3)
    assert all(s["attempts"] == 1 for s in [*statuses().values(), *statuses(trainings=True).values()])
    again = mixft("sweep", path)
    assert again.returncode == 0 and "0 to run" in again.stdout
    status = json.loads(mixft("status", path, "--format", "json").stdout)
    assert {row["state"] for row in status} == {"done"} and len(status) == 4
    assert {"id", "state", "attempts", "run_dir", "training", "training_state", "weights"} <= set(status[0])
    assert all(row["training"] == row["id"].partition("-")[0] for row in status)


@pytest.mark.slow
def test_a_failing_run_leaves_the_others_done(tmp_path):
    # an optimizer TRL does not know: every run that trains fails, at run time (a source that does
    # not fit its task stops the sweep before it starts: test_preflight.py)
    path = sweep_file(tmp_path, "  - training.optim=adamw_tourch\n")
    result = mixft("sweep", path, "--retries", "1", "--max-parallel", "2")
    assert result.returncode == 1
    found = statuses()
    failed = {rid: s for rid, s in found.items() if s["state"] == "failed"}
    # fpb alone, twitter_sa alone and the pair fail; the base model, which trains nothing, is done
    assert len(failed) == 3 and len(found) - len(failed) == 1
    for status in [*failed.values(), *statuses(trainings=True).values()]:
        assert status["state"] == "failed"
        assert status["attempts"] == 2 and len(status["history"]) == 2
        assert "adamw_tourch is not a valid OptimizerNames" in status["error"]
    assert result.stderr.count("failed ") == 3


@pytest.mark.slow
def test_two_sweeps_at_once_run_each_run_once(tmp_path):
    path = sweep_file(tmp_path)
    first, second = mixft("sweep", path, wait=False), mixft("sweep", path, wait=False)
    assert first.wait(timeout=600) == 0 and second.wait(timeout=600) == 0
    assert_all_done_once(4, trained=3)
    assert all(s["attempts"] == 1 for s in [*statuses().values(), *statuses(trainings=True).values()])


@pytest.mark.slow
def test_sweeps_killed_at_random_moments_finish_on_rerun(tmp_path):
    path = sweep_file(tmp_path)
    rng = random.Random(7)
    for _ in range(5):
        child = mixft("sweep", path, "--max-parallel", "2", wait=False)
        time.sleep(rng.uniform(1.0, 12.0))
        child.send_signal(signal.SIGKILL)
        child.wait()
    final = mixft("sweep", path, "--max-parallel", "2")
    assert final.returncode == 0, final.stdout + final.stderr
    assert_all_done_once(4, trained=3)


@pytest.mark.slow
def test_ctrl_c_interrupts_running_runs_and_a_rerun_resumes(tmp_path):
    path = sweep_file(tmp_path, "  - training.max_steps=80\n  - training.save_steps=5\n")
    child = mixft("sweep", path, "--max-parallel", "2", wait=False)
    deadline = time.time() + 300
    while (
        not any(s["state"] == "running" for s in statuses().values())
        if (Path(os.environ["MIXFT_HOME"]) / "runs").exists()
        else True
    ):
        assert time.time() < deadline and child.poll() is None, "no run started"
        time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=180) == 130
    states = {s["state"] for s in statuses().values()}
    assert "interrupted" in states and "running" not in states
    assert "running" not in {s["state"] for s in statuses(trainings=True).values()}
    final = mixft("sweep", path, "--max-parallel", "2")
    assert final.returncode == 0, final.stdout + final.stderr
    assert_all_done_once(4, trained=3)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(5))
def test_a_sweep_killed_with_its_whole_process_group_finishes_on_an_immediate_rerun(
    tmp_path, monkeypatch, trial
):
    # the run processes die with it: their pids linger as zombies for a moment, and their claims must
    # not hold the runs (the rerun skipped them and exited 1 with them left interrupted)
    monkeypatch.setenv("MIXFT_HOME", str(tmp_path / f"store{trial}"))
    path = sweep_file(tmp_path, "  - training.max_steps=40\n  - training.save_steps=5\n")
    cmd = [sys.executable, "-m", "mixft.cli.main", "sweep", path, "--max-parallel", "2"]
    child = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    runs = Path(os.environ["MIXFT_HOME"]) / "runs"
    deadline = time.time() + 300
    while not (runs.exists() and any(s["state"] == "running" for s in statuses().values())):
        assert time.time() < deadline and child.poll() is None, "no run started"
        time.sleep(0.1)
    time.sleep(random.Random(trial).uniform(0.0, 3.0))  # somewhere in its training
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    final = mixft("sweep", path, "--max-parallel", "2")  # at once: no wait for claims to go stale
    assert final.returncode == 0, final.stdout + final.stderr
    assert_all_done_once(4, trained=3)
