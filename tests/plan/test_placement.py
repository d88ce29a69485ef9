"""Placement on this host's GPUs read from recorded nvidia-smi outputs (fixtures/: H100 80GB, A100
40GB, a MIG-split A100), GPU names resolved with their memory size, what packing learns from an
out-of-memory, --max-parallel, and vLLM's share of a shared GPU."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from mixft.runner.config.executors import RayConfig
from mixft.runner.errors import ConfigError
from mixft.runner.evaluate.engines import vllm
from mixft.runner.execute.executors.packing import Need, Packer, is_out_of_memory
from mixft.runner.execute.executors.ray import cluster_gpu_memory
from mixft.runner.execute.executors.slots import device_slots
from mixft.runner.plan.hardware import gpu_memory_gb
from tests.unit.helpers import invoke

FIXTURES = Path(__file__).parent / "fixtures"
GB, MIB = 1e9, 2**20


@pytest.fixture
def nvidia_smi(monkeypatch: pytest.MonkeyPatch):
    """Put the recorded nvidia-smi first on PATH, answering from the named fixture."""

    def use(name: str) -> None:
        monkeypatch.setenv("PATH", f"{FIXTURES}:{Path('/usr/bin')}:{Path('/bin')}")
        monkeypatch.setenv("NVIDIA_SMI_FIXTURE", str(FIXTURES / name))
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    return use


def test_gpu_ids_and_memory_come_from_nvidia_smi_indexes(nvidia_smi) -> None:
    nvidia_smi("h100x2")
    slots = device_slots("all", 1, None)
    assert [(s.name, s.memory) for s in slots] == [("gpu0", 81559 * MIB), ("gpu1", 81559 * MIB)]
    nvidia_smi("a100_40g")
    assert [s.memory for s in device_slots("all", 1, None)] == [40960 * MIB] * 3


def test_a_mig_split_gpu_is_refused_in_one_line_and_a_whole_one_beside_it_is_used(nvidia_smi) -> None:
    nvidia_smi("mig")
    with pytest.raises(ConfigError, match=r"GPU 0 is split into MIG slices") as error:
        device_slots("all", 1, None)
    assert "\n" not in str(error.value)
    assert [(s.name, s.memory) for s in device_slots("1", 1, None)] == [("gpu1", 81920 * MIB)]


def test_every_run_sees_gpus_in_nvidia_smis_order() -> None:
    for slot in [*device_slots("0,1", 1, None, memory_gb=80), *device_slots("none", 1, 2, cores=2)]:
        assert slot.env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


@pytest.mark.parametrize(
    ("name", "gb"),
    [
        ("A100-40G", 40),
        ("NVIDIA A100-SXM4-40GB", 40),
        ("A100-80G", 80),
        ("NVIDIA A100 80GB PCIe", 80),
        ("V100-16GB", 16),
        ("Tesla V100-SXM2-16GB", 16),
        ("V100", 16),  # a bare name is the smaller board: a share sized by it is never short
        ("NVIDIA H100 80GB HBM3", 80),
        ("A10G", 24),
        ("NVIDIA H200", 141),
    ],
)
def test_gpu_names_resolve_to_their_memory_size(name: str, gb: float) -> None:
    assert gpu_memory_gb(name) == gb


def test_rays_gpu_share_follows_the_a100s_size() -> None:
    assert cluster_gpu_memory(RayConfig(), {"GPU": 8.0, "accelerator_type:A100-40G": 8.0}) == 40 * GB
    assert cluster_gpu_memory(RayConfig(), {"GPU": 8.0, "accelerator_type:V100-16GB": 8.0}) == 16 * GB


def test_the_budget_grows_once_per_out_of_memory_event_not_per_run_that_died() -> None:
    slots = device_slots("0", 1, None, memory_gb=80)
    packer = Packer(slots, runs_per_gpu=4)
    for rid in "abcd":
        assert packer.place(rid, Need(10 * GB, "lora")) is not None
    assert all(packer.out_of_memory(rid, "lora") for rid in "abcd")  # each is started again
    assert packer.growth["lora"] == 1.25 and packer.factor["lora"] == 3  # one event: one lesson
    for rid in "abcd":
        packer.release(rid)
    for rid in "efg":
        packer.place(rid, Need(10 * GB, "lora"))
    packer.out_of_memory("e", "lora")  # placed after the lesson: a new event
    assert packer.growth["lora"] == pytest.approx(1.25**2)


def test_max_parallel_caps_runs_when_runs_share_gpus() -> None:
    packer = Packer(device_slots("0,1", 1, None, memory_gb=80), runs_per_gpu=4, max_runs=3)
    placed = [packer.place(rid, Need(1 * GB)) for rid in "abcde"]
    assert sum(slot is not None for slot in placed) == 3 and packer.full()
    result = invoke(
        "sweep", "smoke", "--gpus", "0,1", "--runs-per-gpu", "4", "--max-parallel", "3",
        "executor.gpu_memory_gb=80", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    counts = [
        int(line.split(":")[1].split()[0])
        for line in result.output.splitlines()
        if line.strip().startswith("gpu")
    ]
    assert sum(counts) == 3, result.output


def test_a_dry_run_names_the_gpus_left_over() -> None:
    result = invoke(
        "sweep", "smoke", "--gpus", "0-2", "--gpus-per-run", "2", "executor.gpu_memory_gb=80", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "GPU 2 unused (not a whole group of --gpus-per-run 2)" in " ".join(result.output.split())


def test_host_memory_pinned_by_offloading_runs_is_checked() -> None:
    packer = Packer(device_slots("0,1", 1, None, memory_gb=80), runs_per_gpu=2, host_memory=128 * GB)
    offload = Need(20 * GB, "full", host=96 * GB)  # an 8B model's ZeRO-2 offload: 12 B/param
    assert packer.place("a", offload) is not None
    assert packer.place("b", offload) is None  # 192 GB pinned would not fit 128 GB of RAM
    assert packer.place("c", Need(20 * GB, "lora")) is not None


def test_a_run_sharing_a_gpu_gives_vllm_its_budget_as_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    packer = Packer(device_slots("0", 1, None, memory_gb=80), runs_per_gpu=4)
    slot = packer.place("a", Need(20 * GB))
    assert slot is not None and slot.env[vllm.SHARE_ENV] == "0.250"
    monkeypatch.setenv(vllm.SHARE_ENV, slot.env[vllm.SHARE_ENV])
    assert vllm.memory_share(cuda=True) == {"gpu_memory_utilization": 0.25}
    assert vllm.memory_share(cuda=False) == {}
    alone = Packer(device_slots("0", 1, None, memory_gb=80), runs_per_gpu=1).place("a", Need(20 * GB))
    assert alone is not None and vllm.SHARE_ENV not in alone.env


@pytest.mark.parametrize("fixture", ["vllm_startup_oom.txt", "vllm_kv_cache_oom.txt", "vllm_torch_oom.txt"])
def test_vllm_out_of_memory_is_recorded_as_out_of_memory(fixture: str) -> None:
    kind, _, message = (FIXTURES / fixture).read_text().strip().partition(": ")
    exc = RuntimeError(message) if "torch" in kind else ValueError(message)
    try:
        raise vllm.load_error("/models/llama31_8b", exc)
    except Exception:
        recorded = traceback.format_exc()
    assert is_out_of_memory(recorded), recorded.splitlines()[-1]
    assert "ConfigError" not in recorded.splitlines()[-1]


def test_a_vllm_failure_that_is_not_memory_stays_a_config_error() -> None:
    error = vllm.load_error(
        "/models/x", OSError("/models/x does not appear to have a file named config.json")
    )
    assert isinstance(error, ConfigError) and not is_out_of_memory(str(error))
