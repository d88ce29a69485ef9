"""How the local executor launches runs that need a launcher: DDP on K GPUs, DeepSpeed on any."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
import yaml

from mixft.runner.errors import ConfigError
from mixft.runner.execute.launch import launch_command
from mixft.runner.train.trl_adapter import deepspeed_config


def config_of(cmd: list[str]) -> dict:
    return yaml.safe_load(open(cmd[cmd.index("--config_file") + 1]))


def test_multi_gpu_runs_use_ddp():
    cmd = launch_command("abc", "smoke", 4, deepspeed=False)
    assert config_of(cmd)["distributed_type"] == "MULTI_GPU"
    assert cmd[cmd.index("--num_processes") + 1] == "4"
    assert cmd[-4:] == ["mixft.runner.execute.entry", "abc", "--sweep", "smoke"]


@pytest.mark.parametrize("gpus", [1, 8])
def test_deepspeed_runs_go_through_accelerate_with_its_deepspeed_config(gpus):
    cmd = launch_command("abc", None, gpus, deepspeed=True)
    assert config_of(cmd)["distributed_type"] == "DEEPSPEED"
    assert cmd[cmd.index("--num_processes") + 1] == str(gpus)


def test_the_paper_recipe_ships_a_zero2_offload_config():
    text = files("mixft.conf.accelerate").joinpath("deepspeed_zero2_offload.json").read_text()
    ds = json.loads(text)
    assert ds["zero_optimization"]["stage"] == 2
    assert ds["zero_optimization"]["offload_optimizer"]["device"] == "cpu"


def test_deepspeed_on_cpu_outside_a_multi_process_launch_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("DS_ACCELERATOR", raising=False)
    with pytest.raises(
        ConfigError,
        match=r"training.deepspeed=zero2_offload without CUDA .*--procs-per-run 2; set training.deepspeed=null",
    ):
        deepspeed_config("zero2_offload", cuda=False)
    assert deepspeed_config(None, cuda=False) is None
    # the ranks of a CPU run over 2 processes (execute/launch.py's environment) take DeepSpeed's JSON
    monkeypatch.setenv("DS_ACCELERATOR", "cpu")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert deepspeed_config("zero2_offload", cuda=False).endswith("deepspeed_zero2_offload.json")


@pytest.mark.parametrize(
    ("gpus_per_run", "deepspeed", "launcher"),
    [(1, None, False), (0, "zero2_offload", False), (1, "zero2_offload", True), (4, None, True)],
)
def test_slurm_tasks_launch_through_accelerate_when_a_local_run_would(gpus_per_run, deepspeed, launcher):
    from mixft.runner.execute.executors.slurm import RunTask
    from mixft.runner.paths import run_dir

    run_dir("r1").mkdir(parents=True)
    (run_dir("r1") / "config.yaml").write_text(yaml.safe_dump({"training": {"deepspeed": deepspeed}}))
    assert RunTask(gpus_per_run).launcher("r1") is launcher
