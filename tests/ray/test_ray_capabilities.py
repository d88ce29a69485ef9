"""A setting a Ray node cannot run: the first run that fails with its ConfigError stops the sweep from
launching the runs that need it (one line naming the setting and the node), on a real one-node Ray
cluster on this machine (`make test-ray`). The submitting host does not check it: the nodes train."""

from __future__ import annotations

import re

import pytest

from mixft.runner.paths import run_dir
from tests.sweep.test_sweep import mixft, statuses, sweep_file

pytestmark = pytest.mark.ray

# fp16 needs CUDA: the node of this machine has none, so each training run fails before it trains
FP16 = "  - training.precision=fp16\n"


@pytest.fixture
def one_node(monkeypatch):
    """A head node with one CPU: the sweep's tasks run one at a time, the others wait in Ray's queue."""
    from ray.cluster_utils import Cluster

    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0})
    try:
        head.wait_for_nodes()
        monkeypatch.setenv("RAY_ADDRESS", head.address)
        yield head
    finally:
        head.shutdown()


def test_a_config_error_of_the_node_stops_the_runs_that_need_the_setting(one_node, tmp_path):
    path = sweep_file(tmp_path, FP16)
    result = mixft("sweep", path, "--executor", "ray", "executor.gpus_per_run=0", "executor.cpus_per_run=1")
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 1, output
    said = " ".join(output.split())  # the console wraps long lines
    held = re.findall(
        r"training\.precision=fp16 cannot run on node (\S+) \(run (\S+) failed for want of it\): (\d+) more",
        said,
    )
    assert len(held) == 1, said  # one line, once
    node, first, stopped = held[0]
    assert node == one_node.head_node.node_ip_address and int(stopped) == 2, said
    found = statuses()
    trainings = {rid: s for rid, s in found.items() if rid != first and s["state"] != "done"}
    # the run that failed first, and only it: its siblings were never started, or stopped at once
    assert (
        found[first]["state"] == "failed"
        and "training.precision=fp16 needs a CUDA GPU" in found[first]["error"]
    )
    assert len(trainings) == 2 and all(
        s["state"] in ("pending", "interrupted") for s in trainings.values()
    ), found
    assert not [rid for rid, s in found.items() if s["state"] == "failed" and rid != first], found
    # the base model's evaluation trains nothing, needs no fp16: it ran
    assert [s["state"] for s in found.values()].count("done") == 1, found
    assert "Traceback" not in output
    # the held runs never trained: no checkpoint, no recorded ConfigError of their own
    for rid, status in trainings.items():
        assert "ConfigError" not in (status.get("error") or ""), status
        assert not list((run_dir(rid).parents[1] / "checkpoints").glob("checkpoint-*"))
