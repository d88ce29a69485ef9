"""Several runs per GPU: place runs on GPUs by their memory estimate, and learn from out-of-memory.

run: mixft sweep cocktail_paper --runs-per-gpu 4    |    mixft sweep smoke --runs-per-gpu 4 --dry-run

Runs come longest first (the sweep's order). Each goes to the GPU with the fewest runs, then the
most free memory, where it fits: at most `runs_per_gpu` runs, their budgets (plan/memory.py) within
the GPU's memory, and at most its shape's packing factor runs of its shape. A run that fits nowhere
now waits and smaller ones go first; a run larger than a GPU still gets an empty one to itself.

A run that dies of CUDA out-of-memory beside other runs is started again, on a less full GPU where
there is one, and its shape (plan/memory.py's `memory_key`) gets a lower packing factor (fewer of
it on one GPU) and a 25% larger budget, once per event: runs placed before that lesson that die too
teach nothing more. Alone on its GPU, it has failed for good: its recipe does not fit. With one run
per GPU (the default), slots are as plain as without packing.

`max_runs` (--max-parallel) caps the runs at once, however many a GPU holds. A run that pins host
memory (ZeRO offload: plan/memory.py's `host`) starts only while the runs' pinned memory stays
within HOST_USABLE of this host's. When runs share a GPU, each gets MIXFT_GPU_MEMORY_SHARE, its
budget over the GPU's memory: the share a vLLM engine in it may take (evaluate/engines/vllm.py).
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable
from dataclasses import dataclass, field, replace

from mixft.runner.execute.executors.slots import Slot
from mixft.runner.plan.grid import PlannedRun
from mixft.runner.plan.memory import USABLE, estimate_memory, memory_key
from mixft.runner.plan.work import work_of
from mixft.runner.store import faults

OOM_GROWTH = 1.25  # a shape's budget grows by this after an out-of-memory
HOST_USABLE = 0.8  # share of the host's memory runs may pin together (the OS and the loaders keep the rest)
SHARE_ENV = "MIXFT_GPU_MEMORY_SHARE"


@dataclass
class Need:
    """What a run asks of a GPU: its budget in bytes and the shape it shares a packing factor with."""

    budget: float
    shape: Hashable = None
    # bytes of host memory it pins (ZeRO offload), checked against the host's
    host: float = 0.0


@dataclass
class Device:
    slot: Slot
    # run id -> (budget, shape) of the runs placed on it
    runs: dict[str, Need] = field(default_factory=dict)

    def used(self) -> float:
        """Bytes the runs placed here reserve."""
        return sum(need.budget for need in self.runs.values())


def is_out_of_memory(error: str) -> bool:
    """Whether a run's recorded error is the GPU running out of memory (store/faults.py decides)."""
    return faults.is_out_of_memory(error)


class Packer:
    """Where runs go among a fixed set of slots (module docstring: the rules)."""

    def __init__(
        self,
        slots: list[Slot],
        runs_per_gpu: int = 1,
        max_runs: int | None = None,
        host_memory: float | None = None,
    ) -> None:
        gpus = all(slot.gpus > 0 for slot in slots)
        self.per_device = runs_per_gpu if gpus and slots else 1
        self.devices = [Device(slot) for slot in slots]
        self.max_runs = max_runs
        # bytes of this host's memory (None: not checked)
        self.host_memory = host_memory
        self.factor: dict[Hashable, int] = {}
        self.growth: dict[Hashable, float] = {}
        # run id -> the growth of its shape when it was placed: a lesson learnt since covers its death
        self.placed_at: dict[str, float] = {}
        # run id -> the most runs, and runs of its shape, its GPU held while it ran (itself included)
        self.crowd: dict[str, tuple[int, int]] = {}

    @property
    def packing(self) -> bool:
        """True when a GPU may hold more than one run."""
        return self.per_device > 1

    def running(self) -> int:
        """Runs placed now."""
        return sum(len(d.runs) for d in self.devices)

    def full(self) -> bool:
        """True when no slot can take another run, or `max_runs` run."""
        capped = self.max_runs is not None and self.running() >= self.max_runs
        return capped or all(len(d.runs) >= self.per_device for d in self.devices)

    def _host_fits(self, need: Need) -> bool:
        if not need.host or self.host_memory is None or self.running() == 0:
            return True  # a run alone on the host gets it, as it would without packing
        pinned = sum(n.host for d in self.devices for n in d.runs.values())
        return pinned + need.host <= self.host_memory * HOST_USABLE

    def budget(self, need: Need) -> float:
        """A run's budget after what out-of-memory errors of its shape taught."""
        return need.budget * self.growth.get(need.shape, 1.0)

    def _fits(self, device: Device, need: Need) -> bool:
        if not device.runs:
            return True  # an empty GPU takes any run: larger than it, it fails there as it would alone
        if len(device.runs) >= self.per_device:
            return False
        same = sum(other.shape == need.shape for other in device.runs.values())
        if same >= self.factor.get(need.shape, self.per_device):
            return False
        memory = device.slot.memory
        return memory is None or device.used() + self.budget(need) <= memory * USABLE

    def place(self, rid: str, need: Need, avoid: str | None = None) -> Slot | None:
        """The slot `rid` starts in now (recorded as taken), or None when it fits nowhere yet.

        Args:
            rid: The run.
            need: Its budget and shape.
            avoid: A slot's name to leave out while another one fits (where it ran out of memory).
        """
        if self.full() or not self._host_fits(need):
            return None
        fitting = [d for d in self.devices if self._fits(d, need)]
        if avoid is not None and any(d.slot.name != avoid for d in fitting):
            fitting = [d for d in fitting if d.slot.name != avoid]
        if not fitting:
            return None
        device = min(fitting, key=lambda d: (len(d.runs), d.used() - (d.slot.memory or 0.0)))
        device.runs[rid] = Need(self.budget(need), need.shape, need.host)
        self.placed_at[rid] = self.growth.get(need.shape, 1.0)
        for other, placed in device.runs.items():
            same = sum(n.shape == placed.shape for n in device.runs.values())
            most, most_same = self.crowd.get(other, (0, 0))
            self.crowd[other] = (max(most, len(device.runs)), max(most_same, same))
        return self._with_share(device.slot, self.budget(need))

    def _with_share(self, slot: Slot, budget: float) -> Slot:
        """The slot as a run of `budget` bytes gets it: with its share of the GPU when runs share it."""
        if not self.packing or not slot.memory:
            return slot
        share = min(1.0, budget / slot.memory)
        return replace(slot, env={**slot.env, SHARE_ENV: f"{share:.3f}"})

    def release(self, rid: str) -> None:
        """Free what `rid` held."""
        for device in self.devices:
            device.runs.pop(rid, None)
        self.crowd.pop(rid, None)
        self.placed_at.pop(rid, None)

    def shared(self, rid: str) -> bool:
        """Whether another run was on `rid`'s GPU at any time while it ran."""
        return self.crowd.get(rid, (1, 1))[0] > 1

    def out_of_memory(self, rid: str, shape: Hashable) -> bool:
        """Learn from `rid` running out of memory (call before `release`); True when it shared its GPU
        and should be started again."""
        if not self.shared(rid):
            return False
        growth = self.growth.get(shape, 1.0)
        if self.placed_at.get(rid, 1.0) < growth:
            return True  # placed before the lesson its shape learnt since: the same event, learnt once
        same = self.crowd[rid][1]
        self.factor[shape] = max(1, min(self.factor.get(shape, self.per_device), same - 1))
        self.growth[shape] = growth * OOM_GROWTH
        return True

    def layout(self, needs: dict[str, Need]) -> dict[str, list[str]]:
        """The first wave: slot name -> the runs placed there if `needs` (in order) started now on
        empty slots; the runs that wait are left out. Places nothing for real."""
        trial = Packer([d.slot for d in self.devices], self.per_device, self.max_runs, self.host_memory)
        trial.factor, trial.growth = dict(self.factor), dict(self.growth)
        for rid, need in needs.items():
            trial.place(rid, need)
        return {d.slot.name: list(d.runs) for d in trial.devices}


def run_needs(runs: list[PlannedRun]) -> dict[str, Need]:
    """Each run's GPU budget (plan/memory.py; a run with its training done only evaluates) and shape."""
    work = work_of(runs)
    needs = {}
    for run in runs:
        trains = work[run.id].what == "train"
        memory = estimate_memory(run.config, trains)
        needs[run.id] = Need(memory.budget, memory_key(run.config, trains), memory.host)
    return needs


def host_memory() -> float | None:
    """Bytes of this host's physical memory, or None where the OS does not say."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def gpu_fraction(budget: float, memory: float | None, runs_per_gpu: int) -> float:
    """The share of one GPU a run asks a scheduler with fractional GPUs for (Ray): its budget over
    the GPU's usable memory, at least 1/runs_per_gpu, at most 1, rounded up to a hundredth; without
    the GPU's memory, 1/runs_per_gpu."""
    floor = 1 / runs_per_gpu
    if not memory:
        return floor
    return min(1.0, max(floor, math.ceil(budget / (memory * USABLE) * 100) / 100))
