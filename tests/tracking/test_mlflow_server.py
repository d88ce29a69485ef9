"""The smoke sweep tracked by a real MLflow server that dies mid-sweep: every run still ends done, and
`mixft sync` sends what the server missed once it is back, so the server ends with every run, metric
and artifact (compare --source mlflow equals --source store). `make test-mlflow` runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from mixft.runner.paths import runs_root
from mixft.runner.store import tracked
from tests.tracking.server import Server

pytest.importorskip("mlflow")
pytestmark = pytest.mark.mlflow

# the smoke sweep at its smallest that still trains, evaluates and compares (6 runs)
SMALL = ["training.max_steps=2", "training.logging_steps=1", "eval.max_examples=8"]
SWEEP_TIMEOUT_S = 240


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "mlflow-server")
    srv.folder.mkdir()
    srv.start()
    yield srv
    srv.stop()


def mixft(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mixft.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def states() -> dict[str, str]:
    found = {}
    for status in runs_root().glob("*/evals/*/status.json"):
        run = status.parent
        found[f"{run.parent.parent.name}-{run.name}"] = json.loads(status.read_text())["state"]
    return found


def rows(*args: str) -> list[dict]:
    result = mixft("compare", "smoke", "--view", "all", "--format", "json", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)["rows"]


def server_runs(uri: str) -> list:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    return client, client.search_runs([client.get_experiment_by_name("smoke").experiment_id])


def test_a_server_killed_mid_sweep_loses_no_run_and_sync_sends_what_it_missed(server):
    cmd = [sys.executable, "-m", "mixft.cli.main", "sweep", "smoke", "tracker=mlflow"]
    sweep = subprocess.Popen(
        [*cmd, f"tracker.tracking_uri={server.uri}", *SMALL],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + SWEEP_TIMEOUT_S
    while not sent(server.uri) and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.5)
    server.stop()  # mid-sweep: a run is sent, the others are training or waiting
    output, _ = sweep.communicate(timeout=SWEEP_TIMEOUT_S)
    assert sweep.returncode == 0, output[-3000:]
    done = states()
    assert len(done) == 6 and set(done.values()) == {"done"}, done
    missed = tracked_missing()
    assert missed and len(missed) < len(done), missed  # some sent before the outage, some not
    logs = [(runs_root() / r.partition("-")[0] / "evals" / r.partition("-")[2] / "run.log") for r in missed]
    assert all(log.read_text().count("MLflow: ") == 1 for log in logs)  # one warning per run

    server.start()  # same database and artifacts
    result = mixft("sync", "--all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(line.split()[0] for line in result.stdout.splitlines()) == sorted(missed)
    assert not tracked_missing()

    client, runs = server_runs(server.uri)
    assert sorted(r.data.tags["mixft.run_id"] for r in runs) == sorted(done)
    for run in runs:
        assert run.info.status == "FINISHED" and run.data.tags["mixft.sent"] == "true"
        assert any(k.startswith("eval/") for k in run.data.metrics)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"metrics.json", "predictions", "mixft"} <= artifacts
        if run.data.tags["role"] != "base":  # trained: the curve with its steps, the data mix
            steps = [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")]
            assert steps and steps == sorted(steps) and steps[-1] == 2
            assert "manifest.json" in artifacts
    assert rows("--source", "mlflow") == rows()

    again = mixft("sync", "--all")
    assert again.returncode == 0 and "nothing to send" in again.stdout
    assert len(server_runs(server.uri)[1]) == len(done)  # no duplicates


def sent(uri: str) -> int:
    """MLflow runs the server holds whole (0 while it has none, or no experiment yet)."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name("smoke")
    return len(client.search_runs([found.experiment_id], "tags.`mixft.sent` = 'true'")) if found else 0


def tracked_missing() -> list[str]:
    return sorted(f"{p.parent.parent.name}-{p.name}" for p in tracked.unsent_runs(runs_root(), "mlflow"))
