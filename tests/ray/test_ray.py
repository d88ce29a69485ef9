"""`mixft sweep --executor ray` on real Ray clusters on this machine (`make test-ray`): a head and a
second worker node, each with its own CPU, one of them lost mid-run; and a cluster the sweep starts."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from mixft.runner.paths import run_dir
from tests.sweep.test_sweep import assert_all_done_once, mixft, statuses, sweep_file

pytestmark = pytest.mark.ray

# the nodes have one CPU each and no GPU: one run per node at a time
ON_RAY = ["--executor", "ray", "executor.gpus_per_run=0", "executor.cpus_per_run=1"]
# long enough to lose a node between two checkpoints (save every 5 of 100 steps)
SLOW = "  - training.max_steps=100\n  - training.save_steps=5\n"


@pytest.fixture
def cluster(monkeypatch, tmp_path):
    """A head node and a worker node, started in an environment without the test's store: the
    sweep's tasks must get MIXFT_HOME from the driver."""
    from ray.cluster_utils import Cluster

    store = os.environ["MIXFT_HOME"]
    monkeypatch.setenv("MIXFT_HOME", str(tmp_path / "not-the-store"))
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0})
    try:
        worker = head.add_node(num_cpus=1, num_gpus=0)
        head.wait_for_nodes()
        monkeypatch.setenv("MIXFT_HOME", store)
        monkeypatch.setenv("RAY_ADDRESS", head.address)
        yield head, worker
    finally:
        head.shutdown()


def ray_record(rid: str) -> dict:
    path = run_dir(rid) / "ray.json"
    return json.loads(path.read_text()) if path.exists() else {}


def has_checkpoint(rid: str) -> bool:
    return any((run_dir(rid).parents[1] / "checkpoints").glob("checkpoint-*"))


def wait_for_victim(sweep, node_id: str) -> str:
    """A run that trains on the node `node_id` and has saved a checkpoint."""
    deadline = time.time() + 240
    while True:
        assert time.time() < deadline and sweep.poll() is None, "no run trained on the worker node"
        if (Path(os.environ["MIXFT_HOME"]) / "runs").exists():
            for rid, status in statuses().items():
                on_node = ray_record(rid).get("node_id") == node_id and status["state"] == "running"
                if on_node and has_checkpoint(rid):
                    return rid
        time.sleep(0.5)


def test_a_lost_node_s_run_resumes_elsewhere_and_every_run_is_done_once(cluster, tmp_path):
    head, worker = cluster
    path = sweep_file(tmp_path, SLOW)
    first = mixft("sweep", path, *ON_RAY, wait=False)
    victim = wait_for_victim(first, worker.node_id)
    rows = {row["id"]: row for row in json.loads(mixft("status", path, "--format", "json").stdout)}
    assert rows[victim]["live"]["executor"] == "ray" and rows[victim]["live"]["state"] == "RUNNING"
    # four runs on two one-CPU nodes: two wait in Ray's queue
    assert [row["live"]["state"] for row in rows.values() if row["live"]].count("PENDING") >= 1
    head.remove_node(worker, allow_graceful=False)
    head.add_node(num_cpus=1, num_gpus=0)  # a replacement, as an autoscaler would start
    output = first.communicate(timeout=600)[0]
    print(output)
    if first.returncode != 0:  # Ray gave up on the lost task: the next sweep resumes it
        again = mixft("sweep", path, *ON_RAY)
        assert again.returncode == 0, output + again.stdout + again.stderr
    assert_all_done_once(4, trained=3)
    lost = statuses()[victim]
    assert lost["attempts"] >= 2 and "interrupted" in [h["state"] for h in lost["history"]], lost
    metrics = json.loads((run_dir(victim) / "metrics.json").read_text())
    assert metrics["train/resumed_from_step"] >= 5, metrics  # resumed from a checkpoint, not from 0
    assert "0 to run" in mixft("sweep", path, *ON_RAY).stdout


def test_the_smoke_sweep_runs_on_a_cluster_it_starts(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    small = ["training.max_steps=2", "eval.max_examples=8"]
    result = mixft("sweep", "smoke", "--executor", "ray", "executor.address=local", *small)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "this host has no GPU: runs use CPUs only" in result.stdout
    assert_all_done_once(6, trained=5)
    for rid in statuses():
        record = ray_record(rid)
        assert record["state"] == "ENDED" and record["task"] and record["node"]
    status = json.loads(mixft("status", "smoke", "--format", "json").stdout)
    assert {row["state"] for row in status} == {"done"} and not any(row["live"] for row in status)
