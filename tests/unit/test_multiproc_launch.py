"""How a CPU run over several processes is launched: torchrun, its own port, the cores split."""

from __future__ import annotations

import pytest

from mixft.runner.errors import ConfigError
from mixft.runner.execute.executors.slots import device_slots
from mixft.runner.execute.launch import ENTRY, launch_command, launch_env, needs_launcher
from mixft.runner.execute.options import planned


def test_a_cpu_run_over_two_processes_goes_through_torchrun_on_the_port_given():
    cmd = launch_command("abc", "smoke", 0, deepspeed=False, port=29123, procs=2)
    assert cmd[1:3] == ["-m", "torch.distributed.run"]
    assert cmd[cmd.index("--nproc-per-node") + 1] == "2"
    assert cmd[cmd.index("--master-port") + 1] == "29123"
    assert cmd[cmd.index("--nnodes") + 1] == "1"
    assert cmd[-5:] == ["-m", ENTRY, "abc", "--sweep", "smoke"]


@pytest.mark.parametrize(
    ("gpus", "deepspeed", "procs", "launcher"),
    [(0, None, 1, False), (0, None, 2, True), (0, "zero2_offload", 2, True), (0, "zero2_offload", 1, False)],
)
def test_cpu_runs_need_a_launcher_only_over_several_processes(gpus, deepspeed, procs, launcher):
    assert needs_launcher(gpus, deepspeed, procs) is launcher


def test_cpu_ranks_use_accelerates_cpu_mode_and_deepspeed_its_cpu_accelerator(monkeypatch):
    monkeypatch.delenv("GLOO_SOCKET_IFNAME", raising=False)
    ddp = launch_env(0)
    # without it each rank trains alone (DistributedType.NO); with DeepSpeed it would turn DeepSpeed off
    assert ddp["ACCELERATE_USE_CPU"] == "1" and "DS_ACCELERATOR" not in ddp
    ds = launch_env(0, deepspeed=True)
    assert ds["DS_ACCELERATOR"] == "cpu" and "ACCELERATE_USE_CPU" not in ds
    assert launch_env(2) == {}


def test_the_cores_are_split_between_the_processes_of_the_runs():
    slots = device_slots("none", 1, None, cores=8, procs_per_run=2)
    assert len(slots) == 4 and {s.procs for s in slots} == {2}
    assert {s.env["OMP_NUM_THREADS"] for s in slots} == {"1"}
    one = device_slots("none", 1, 1, cores=8, procs_per_run=2)
    assert len(one) == 1 and one[0].env["OMP_NUM_THREADS"] == "4"
    # more processes than cores: one run at a time, a thread each
    small = device_slots("none", 1, None, cores=2, procs_per_run=4)
    assert len(small) == 1 and small[0].env["OMP_NUM_THREADS"] == "1"


def test_procs_per_run_on_gpus_is_one_line_that_names_the_gpu_option():
    with pytest.raises(ConfigError, match=r"--procs-per-run 2 is for runs on CPU.*--gpus-per-run"):
        device_slots("0,1", 1, None, procs_per_run=2)


def test_procs_per_run_is_a_local_setting_checked_like_the_others():
    assert planned("smoke", [], None, {"procs_per_run": 2}).executor().procs_per_run == 2
    with pytest.raises(ConfigError, match="executor.procs_per_run"):
        planned("smoke", ["executor.procs_per_run=0"])
    with pytest.raises(ConfigError, match="--procs-per-run is not a setting of executor slurm"):
        planned("smoke", [], "slurm", {"procs_per_run": 2})
