"""Several runs per GPU on fake devices: placement by memory, the first wave a dry run shows, and a run
that runs out of memory beside others started again on a less full GPU with its shape packed less."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from mixft.runner.config.executors import LocalConfig
from mixft.runner.errors import ConfigError
from mixft.runner.execute.executors.local import LocalExecutor, Runner
from mixft.runner.execute.executors.packing import Need, Packer, is_out_of_memory
from mixft.runner.execute.executors.processes import Job
from mixft.runner.execute.executors.slots import Slot, device_slots
from mixft.runner.paths import run_dir
from mixft.runner.plan.grid import Plan
from mixft.runner.store import status as states
from tests.reliability.test_units import planned, write

GB = 1e9


def gpus(n: int, memory_gb: float = 80.0) -> list[Slot]:
    return device_slots(",".join(map(str, range(n))), 1, None, memory_gb=memory_gb)


def test_slots_carry_the_memory_given_and_cpu_slots_never_pack():
    slots = gpus(2, 141)
    assert [(s.name, s.memory) for s in slots] == [("gpu0", 141 * GB), ("gpu1", 141 * GB)]
    cpu = device_slots("none", 1, 2, cores=2)
    packer = Packer(cpu, runs_per_gpu=4)
    assert not packer.packing and packer.place("a", Need(GB)) and packer.place("b", Need(GB))
    assert packer.place("c", Need(GB)) is None  # two CPU slots hold two runs, whatever runs_per_gpu says


def test_runs_spread_first_then_share_within_memory_and_the_count():
    packer = Packer(gpus(2, 80), runs_per_gpu=3)
    placed = {rid: packer.place(rid, Need(30 * GB)).name for rid in "abcd"}  # type: ignore[union-attr]
    assert placed == {"a": "gpu0", "b": "gpu1", "c": "gpu0", "d": "gpu1"}  # spread, then pack
    assert packer.place("e", Need(40 * GB)) is None  # 100 GB > 80 x 0.97 on either GPU
    assert packer.place("f", Need(10 * GB)).name == "gpu0"  # type: ignore[union-attr]  # a smaller one fits
    assert packer.place("g", Need(1 * GB)).name == "gpu1"  # type: ignore[union-attr]
    assert packer.place("h", Need(1 * GB)) is None and packer.full()  # three a GPU at most
    packer.release("a")
    assert packer.place("e", Need(40 * GB)) is None  # gpu0 still holds c and f: 40 + 40 > 77.6
    packer.release("f")
    assert packer.place("e", Need(40 * GB)).name == "gpu0"  # type: ignore[union-attr]


def test_a_run_larger_than_a_gpu_still_gets_an_empty_one():
    packer = Packer(gpus(1, 24), runs_per_gpu=4)
    assert packer.place("big", Need(100 * GB)) is not None
    assert packer.place("small", Need(GB)) is None  # nothing shares a GPU with an oversized run


def test_the_first_wave_places_nothing_for_real():
    packer = Packer(gpus(2, 80), runs_per_gpu=2)
    needs = {"big": Need(70 * GB), "mid": Need(40 * GB), "s1": Need(30 * GB), "s2": Need(5 * GB)}
    assert packer.layout(needs) == {"gpu0": ["big", "s2"], "gpu1": ["mid", "s1"]}
    assert not any(d.runs for d in packer.devices)


def test_out_of_memory_beside_others_lowers_the_shape_and_moves_the_run():
    packer = Packer(gpus(2, 80), runs_per_gpu=4)
    for rid in ("a1", "a2", "a3", "a4"):  # all four of one shape; two a GPU after spreading
        packer.place(rid, Need(10 * GB, "lora"))
    packer.place("a5", Need(10 * GB, "lora"))
    assert Counter(d.slot.name for d in packer.devices for _ in d.runs) == {"gpu0": 3, "gpu1": 2}
    assert packer.out_of_memory("a1", "lora")  # it shared gpu0 with two of its shape
    assert packer.factor["lora"] == 2 and packer.budget(Need(10 * GB, "lora")) == pytest.approx(12.5 * GB)
    packer.release("a1")
    # both GPUs hold two of the shape (its factor now): a1 waits
    assert packer.place("a1", Need(10 * GB, "lora"), avoid="gpu0") is None
    packer.release("a2")
    assert packer.place("a1", Need(10 * GB, "lora"), avoid="gpu0").name == "gpu1"  # type: ignore[union-attr]
    alone = Packer(gpus(1, 80), runs_per_gpu=4)
    alone.place("x", Need(GB, "full"))
    assert not alone.out_of_memory("x", "full")  # alone on its GPU: its recipe does not fit, no retry


def test_out_of_memory_errors_are_told_from_others():
    assert is_out_of_memory("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert is_out_of_memory("RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate")
    assert not is_out_of_memory("ValueError: the run process exited with code -9")


def test_packing_without_each_gpus_memory_is_one_line():
    executor = LocalExecutor(LocalConfig(gpus="0,1", runs_per_gpu=2))
    with pytest.raises(ConfigError, match="memory of gpu0, gpu1 is unknown.*executor.gpu_memory_gb"):
        executor.where()
    assert (
        "up to 2 runs a GPU"
        in LocalExecutor(LocalConfig(gpus="0,1", runs_per_gpu=2, gpu_memory_gb=80)).where()
    )


class FakeGpuLauncher:
    """Starts no process: a run "runs" for a moment on its slot and, when more than `fits` runs share
    the slot at its start, records the error CUDA gives, as a run process would."""

    def __init__(self, fits: int) -> None:
        self.fits = fits
        self.on: Counter[str] = Counter()
        self.starts: list[tuple[str, str, int]] = []

    def start(self, run_id: str, sweep: str | None, slot: Slot, log_path: Any, deepspeed: Any = None) -> Job:
        self.on[slot.name] += 1
        crowd = self.on[slot.name]
        self.starts.append((run_id, slot.name, crowd))
        states.set_state(run_dir(run_id), "running")
        job = Job(run_id, slot, handle=FakeProcess(run_id, crowd > self.fits, self, slot.name))
        return job

    def stop(self, job: Job, grace_s: float = 0.0) -> None:
        job.handle.finish()


class FakeProcess:
    def __init__(self, rid: str, oom: bool, launcher: FakeGpuLauncher, slot: str) -> None:
        self.rid, self.oom, self.launcher, self.slot = rid, oom, launcher, slot
        self.pid, self.code, self.until = None, None, time.time() + 0.3

    @property
    def exitcode(self) -> int | None:
        if self.code is None and time.time() >= self.until:
            self.finish()
        return self.code

    def finish(self) -> None:
        folder = run_dir(self.rid)
        if self.oom:
            states.set_state(
                folder, "failed", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1 GiB"
            )
        else:
            states.set_state(folder, "done")
        self.launcher.on[self.slot] -= 1
        self.code = 1 if self.oom else 0


def test_a_packed_run_out_of_memory_is_started_again_and_every_run_ends_done():
    runs = [planned(f"seed={seed}") for seed in range(6)]
    for run in runs:
        write(run, "packing")
    events: list[tuple[str, str]] = []
    needs = {run.id: Need(10 * GB, "same") for run in runs}
    runner = Runner(
        Plan("packing", runs),
        gpus(2, 80),
        LocalConfig(gpus="0,1", runs_per_gpu=3, gpu_memory_gb=80, retries=0),
        lambda *e: events.append(e),
        needs,
    )
    launcher = FakeGpuLauncher(fits=2)
    runner.launcher = launcher  # type: ignore[assignment]
    runner.run([run.id for run in runs], tick=lambda: None)
    assert len({run.id for run in runs}) == len(runs)
    assert [states.read_status(run_dir(run.id))["state"] for run in runs] == ["done"] * len(runs), "\n".join(
        map(str, events)
    )
    ooms = [text for event, text in events if event == "oom"]
    assert ooms and all("starting it again" in text for text in ooms)
    assert runner.packer.factor["same"] == 2  # three of the shape on a GPU ran out: two now
    late = launcher.starts[len(runs) :]  # after the first wave, no slot holds more than two
    assert all(crowd <= 2 for _, _, crowd in late)
