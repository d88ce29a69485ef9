"""The Ray executor's settings, resources and run commands, without a cluster (tests/ray starts one)."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from mixft.runner.config.executors import RayConfig
from mixft.runner.config.load import load_config
from mixft.runner.errors import ConfigError
from mixft.runner.execute.executors import executor_for
from mixft.runner.execute.executors.ray import RayExecutor, cluster_address, task_gpus
from mixft.runner.execute.executors.ray_driver import answers, head_address, head_lost_line
from mixft.runner.execute.executors.ray_task import TaskSpec, command, passed_env, run_env, with_parent
from mixft.runner.execute.launch import ENTRY
from tests.unit.helpers import assert_usage_error, invoke


def test_the_ray_preset_composes_to_its_settings():
    settings = load_config(["executor=ray", "executor.runs_per_gpu=2"]).executor
    assert isinstance(settings, RayConfig) and settings.runs_per_gpu == 2 and settings.runtime_env == {}
    assert isinstance(executor_for(settings), RayExecutor)
    result = invoke("sweep", "smoke", "--executor", "ray", "executor.address=local", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "6 to run on Ray cluster local (1 CPU, 1 GPU per run)" in result.stdout


def test_without_ray_installed_asking_for_it_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert_usage_error(
        invoke("sweep", "smoke", "--executor", "ray", "--dry-run"), "executor ray needs Ray", "mixft[ray]"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("executor.cpus_per_run=0", "executor.cpus_per_run must be positive"),
        ("executor.runs_per_gpu=0", "executor.runs_per_gpu must be"),
        ("executor.node_retries=-1", "executor.node_retries must be 0 or more"),
    ],
)
def test_bad_settings_are_one_line_when_planned(override, message):
    # checked by RayConfig with the config: `mixft plan` refuses them, before any executor starts
    assert_usage_error(invoke("plan", "smoke", "executor=ray", override), message)
    assert_usage_error(invoke("sweep", "smoke", "--executor", "ray", override, "--dry-run"), message)


def test_runs_share_a_gpu_only_one_gpu_each():
    with pytest.raises(ConfigError, match="runs_per_gpu=2 shares one GPU.*gpus_per_run=1, got 2"):
        RayConfig(gpus_per_run=2, runs_per_gpu=2).check()


def test_the_address_is_the_setting_then_ray_address_then_this_host(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cluster_address(RayConfig()) == "auto"
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")
    assert cluster_address(RayConfig()) == "head:6379"
    assert cluster_address(RayConfig(address="local")) == "local"


def test_gpus_per_task_fractional_when_shared_and_none_on_a_cpu_host():
    assert task_gpus(RayConfig(runs_per_gpu=4), 8, local=False) == (0.25, None)
    assert task_gpus(RayConfig(gpus_per_run=2), 8, local=False) == (2.0, None)
    assert task_gpus(RayConfig(gpus_per_run=0), 8, local=False) == (0.0, None)
    gpus, note = task_gpus(RayConfig(), 0, local=True)
    assert gpus == 0 and "no GPU: runs use CPUs only" in (note or "")
    gpus, note = task_gpus(RayConfig(), 0, local=False)  # an autoscaler may add GPU nodes: wait
    assert gpus == 1 and "executor.gpus_per_run=0" in (note or "")


def test_a_task_gets_the_drivers_store_and_settings_and_only_its_gpus(monkeypatch):
    monkeypatch.setenv("MIXFT_CONFIG_PATH", "/proj")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")
    env = passed_env("/shared/store")
    assert env["MIXFT_HOME"] == "/shared/store" and env["MIXFT_CONFIG_PATH"] == "/proj"
    assert env["HF_HUB_OFFLINE"] == "1" and "UNRELATED_VARIABLE" not in env
    spec = TaskSpec("a-b", "smoke", env, gpus=0, cpus=2)
    cpu = run_env(spec, [])
    assert cpu["CUDA_VISIBLE_DEVICES"] == "" and cpu["OMP_NUM_THREADS"] == "2"
    assert run_env(spec, ["3", "5"])["CUDA_VISIBLE_DEVICES"] == "3,5"


def test_a_run_on_several_gpus_launches_accelerate_on_a_port_of_its_own():
    one = command(TaskSpec("a-b", "smoke"), gpus=1)
    assert one == [sys.executable, "-m", ENTRY, "a-b", "--sweep", "smoke"]
    two = command(TaskSpec("a-b", "smoke"), gpus=2)
    assert "accelerate.commands.launch" in two and two[two.index("--num_processes") + 1] == "2"
    port = int(two[two.index("--main_process_port") + 1])
    assert 0 < port < 65536
    assert "--main_process_port" in command(TaskSpec("a-b", "smoke", deepspeed="zero2"), gpus=1)
    wrapped = with_parent(one)
    assert wrapped[3] == str(os.getpid()) and wrapped[4:] == one


def test_a_head_answers_while_its_port_listens_and_not_once_it_is_closed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        assert answers(address)
    assert not answers(address)  # closed: refused at once, not after a timeout
    assert not answers("no-port-here") and not answers("127.0.0.1:notaport")


def test_the_head_of_a_ray_client_address_is_its_client_server_and_the_line_says_what_to_do():
    assert head_address(None, "ray://head-node:10001") == "head-node:10001"
    line = head_lost_line("10.0.0.5:6379", 12)
    assert line == (
        "the Ray cluster at 10.0.0.5:6379 is gone (head lost): 12 runs left to resume; "
        "run the sweep again when the cluster is back"
    )


def test_runs_sharing_a_gpu_hold_the_share_their_memory_estimate_needs():
    from mixft.runner.config.executors import RayConfig
    from mixft.runner.execute.executors.packing import gpu_fraction
    from mixft.runner.execute.executors.ray import cluster_gpu_memory

    assert gpu_fraction(30e9, 80e9, 4) == pytest.approx(0.39)  # 30 / (80 x 0.97), rounded up
    assert gpu_fraction(5e9, 80e9, 4) == 0.25  # never less than 1/runs_per_gpu
    assert gpu_fraction(200e9, 80e9, 4) == 1.0 and gpu_fraction(5e9, None, 4) == 0.25
    cluster = {"GPU": 8.0, "accelerator_type:H100": 2.0, "accelerator_type:A10G": 1.0}
    assert cluster_gpu_memory(RayConfig(), cluster) == 24e9  # the smallest GPU the cluster has
    assert cluster_gpu_memory(RayConfig(gpu_memory_gb=141), cluster) == 141e9
    assert cluster_gpu_memory(RayConfig(), {"GPU": 1.0}) is None
