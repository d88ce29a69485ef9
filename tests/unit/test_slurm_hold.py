"""SLURM: the first run that fails with a ConfigError naming a setting its node cannot run stops the
array tasks of the runs that need it: those still pending, and those running on the same node (one
`scancel`, one line naming the setting and the node). The queue is given; `scancel` is recorded."""

from __future__ import annotations

import subprocess

from mixft.runner.execute.executors import slurm
from mixft.runner.execute.options import planned
from mixft.runner.execute.sweep import record
from mixft.runner.paths import run_dir
from mixft.runner.store import rundir
from mixft.runner.store.status import set_state

ERROR = (
    "Traceback (most recent call last):\n  ...\n"
    "mixft.runner.errors.ConfigError: training.precision=fp16 needs a CUDA GPU; on a CPU use "
    "training.precision=bf16, fp32 or auto\n"
)


def test_a_node_s_config_error_cancels_the_tasks_that_need_the_setting(monkeypatch):
    plan = planned("smoke", ["training.precision=fp16"], "slurm")
    record(plan)
    trained = [run.id for run in plan.runs if run.role != "base"]
    base = next(run.id for run in plan.runs if run.role == "base")
    first, pending, same_node, other_node, after = trained
    jobs = {rid: f"100_{i}" for i, rid in enumerate([*trained, base])}
    set_state(run_dir(first), "running")
    set_state(run_dir(first), "failed", ERROR)
    rundir.note_slurm_node(run_dir(first), "node1.cluster")  # RunTask notes the host it runs on
    cancelled, said = [], []
    real_run = subprocess.run
    monkeypatch.setattr(
        slurm.subprocess,
        "run",
        lambda cmd, **kw: cancelled.append(cmd[1:]) if cmd[0] == "scancel" else real_run(cmd, **kw),
    )
    hold = slurm.HoldBack(plan, jobs, lambda event, text: said.append((event, text)))
    active = {jobs[pending]: "PENDING", jobs[same_node]: "RUNNING", jobs[other_node]: "RUNNING"}
    active |= {jobs[after]: "PENDING", jobs[base]: "PENDING"}
    nodes = {jobs[same_node]: "node1", jobs[other_node]: "node2"}
    hold.check(active, nodes)
    # the base model's evaluation trains nothing: fp16 is not what it needs; node2 may have CUDA
    assert cancelled == [[jobs[pending], jobs[same_node], jobs[after]]]
    assert said == [
        (
            "held back",
            f"training.precision=fp16 cannot run on node node1.cluster (run {first} failed for want of it): "
            "3 more run(s) that need it are not launched; they stay pending for the next `mixft sweep`",
        )
    ]
    hold.check(active, nodes)  # the same failure, seen again: nothing more
    assert len(cancelled) == 1 and len(said) == 1


def test_a_failure_that_names_no_setting_of_the_machine_holds_nothing(monkeypatch):
    plan = planned("smoke", [], "slurm")
    record(plan)
    first = next(run.id for run in plan.runs if run.role != "base")
    set_state(run_dir(first), "running")
    set_state(run_dir(first), "failed", "Traceback ...\nValueError: a bug in a library\n")
    cancelled = []
    monkeypatch.setattr(slurm.subprocess, "run", lambda cmd, **kw: cancelled.append(cmd))
    hold = slurm.HoldBack(plan, {run.id: f"7_{i}" for i, run in enumerate(plan.runs)}, lambda e, t: None)
    hold.check({"7_1": "PENDING"}, {})
    assert cancelled == []
