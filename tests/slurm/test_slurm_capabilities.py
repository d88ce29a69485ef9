"""A setting the SLURM node cannot run: the first run that fails with its ConfigError stops the array
tasks of the runs that need it (one line naming the setting and the node), on the one-node cluster
`make test-slurm` starts. The submitting host does not check it: the nodes train."""

from __future__ import annotations

import re
import socket

import pytest

from tests.slurm.test_slurm import ON_SLURM, _cluster  # noqa: F401  (the cluster check, autouse)
from tests.sweep.test_sweep import mixft, statuses, sweep_file

pytestmark = pytest.mark.slurm

# fp16 needs CUDA, which the test node lacks; one task at a time, so the others wait in the queue
FP16 = "  - training.precision=fp16\n"


def test_a_config_error_of_the_node_stops_the_tasks_that_need_the_setting(tmp_path):
    path = sweep_file(tmp_path, FP16)
    result = mixft("sweep", path, *ON_SLURM, "executor.array_parallelism=1")
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 1, output
    said = " ".join(output.split())  # the console wraps long lines
    held = re.findall(
        r"training\.precision=fp16 cannot run on node (\S+) \(run (\S+) failed for want of it\)", said
    )
    assert len(held) == 1, said  # one line, once
    node, first = held[0]
    assert node.split(".")[0] == socket.gethostname().split(".")[0]
    found = statuses()
    failed = [rid for rid, s in found.items() if s["state"] == "failed"]
    waiting = [rid for rid, s in found.items() if s["state"] in ("pending", "interrupted")]
    assert first in failed and all("training.precision=fp16" in found[rid]["error"] for rid in failed)
    # the three trainings: the first failed, the others not launched (or stopped on the same node)
    assert len(failed) + len(waiting) == 3 and len(waiting) >= 1, found
    assert [s["state"] for s in found.values()].count("done") == 1, found  # the base model's evaluation
