"""`mixft sweep --executor ray` on real Ray clusters on this machine (`make test-ray`): a head and a
second worker node, each with its own CPU, the worker lost mid-run, then the head lost mid-run; and a
cluster the sweep starts."""

from __future__ import annotations

import json
import os
import re
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


def test_a_lost_head_ends_the_sweep_in_one_line_and_a_rerun_on_a_new_cluster_resumes(
    cluster, tmp_path, monkeypatch
):
    from ray.cluster_utils import Cluster

    head, worker = cluster
    path = sweep_file(tmp_path, "  - training.max_steps=40\n  - training.save_steps=5\n")
    first = mixft("sweep", path, *ON_RAY, wait=False)
    # a run training on the head node: its process dies with the head, its claim is left behind
    victim = wait_for_victim(first, head.head_node.node_id)
    lost_at = time.time()
    head.remove_node(head.head_node, allow_graceful=False)  # the worker node lives on, headless
    output = first.communicate(timeout=120)[0]
    print(output)
    took = time.time() - lost_at
    assert first.returncode == 1, output
    assert took < 45, took  # Ray itself would end the driver after 60 s, with its own message
    said = " ".join(output.split())  # the console wraps long lines
    assert said.count("is gone (head lost)") == 1, output
    left = re.search(
        r"\(head lost\): (\d+) runs left to resume; run the sweep again when the cluster is back", said
    )
    # the worker's run may still finish after the sweep has counted it
    assert left and int(left[1]) >= sum(s["state"] != "done" for s in statuses().values()) >= 1, output
    assert "Failed to connect to GCS" not in output and "Traceback" not in output
    # the victim is left running under a dead claim (or interrupted, or retried by Ray on the worker)
    assert statuses()[victim]["state"] != "failed"
    head.remove_node(worker, allow_graceful=False)  # its run processes die with it
    again = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 0})
    try:
        monkeypatch.setenv("RAY_ADDRESS", again.address)
        rerun = mixft("sweep", path, *ON_RAY)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    finally:
        again.shutdown()
    assert_all_done_once(4, trained=3)
    resumed = json.loads((run_dir(victim) / "metrics.json").read_text())
    assert resumed["train/resumed_from_step"] >= 5, resumed  # from its checkpoint, not from step 0


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
