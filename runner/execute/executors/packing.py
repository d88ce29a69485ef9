"""Several runs per GPU: place runs on GPUs by their memory estimate, and learn from out-of-memory.

run: mixft sweep cocktail_paper --runs-per-gpu 4    |    mixft sweep smoke --runs-per-gpu 4 --dry-run

Runs come longest first (the sweep's order). Each goes to the GPU with the fewest runs, then the
most free memory, where it fits: at most `runs_per_gpu` runs, their budgets (plan/memory.py) within
the GPU's memory, and at most its shape's packing factor runs of its shape. A run that fits nowhere
now waits and smaller ones go first; a run larger than a GPU still gets an empty one to itself.

A run that dies of CUDA out-of-memory beside other runs is started again, on a less full GPU where
there is one, and its shape (plan/memory.py's `memory_key`) gets a lower packing factor (fewer of
it on one GPU) and a 25% larger budget. Alone on its GPU, it has failed for good: its recipe does
not fit. With one run per GPU (the default), slots are as plain as without packing.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field

from mixft.runner.execute.executors.slots import Slot
from mixft.runner.plan.grid import PlannedRun
from mixft.runner.plan.memory import USABLE, estimate_memory, memory_key
from mixft.runner.plan.work import work_of
from mixft.runner.store import faults

OOM_GROWTH = 1.25  # a shape's budget grows by this after an out-of-memory


@dataclass
class Need:
    """What a run asks of a GPU: its budget in bytes and the shape it shares a packing factor with."""

    budget: float
    shape: Hashable = None


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

    def __init__(self, slots: list[Slot], runs_per_gpu: int = 1) -> None:
        gpus = all(slot.gpus > 0 for slot in slots)
        self.per_device = runs_per_gpu if gpus and slots else 1
        self.devices = [Device(slot) for slot in slots]
        self.factor: dict[Hashable, int] = {}
        self.growth: dict[Hashable, float] = {}
        # run id -> the most runs, and runs of its shape, its GPU held while it ran (itself included)
        self.crowd: dict[str, tuple[int, int]] = {}

    @property
    def packing(self) -> bool:
        """True when a GPU may hold more than one run."""
        return self.per_device > 1

    def full(self) -> bool:
        """True when no slot can take another run."""
        return all(len(d.runs) >= self.per_device for d in self.devices)

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
        fitting = [d for d in self.devices if self._fits(d, need)]
        if avoid is not None and any(d.slot.name != avoid for d in fitting):
            fitting = [d for d in fitting if d.slot.name != avoid]
        if not fitting:
            return None
        device = min(fitting, key=lambda d: (len(d.runs), d.used() - (d.slot.memory or 0.0)))
        device.runs[rid] = Need(self.budget(need), need.shape)
        for other, placed in device.runs.items():
            same = sum(n.shape == placed.shape for n in device.runs.values())
            most, most_same = self.crowd.get(other, (0, 0))
            self.crowd[other] = (max(most, len(device.runs)), max(most_same, same))
        return device.slot

    def release(self, rid: str) -> None:
        """Free what `rid` held."""
        for device in self.devices:
            device.runs.pop(rid, None)
        self.crowd.pop(rid, None)

    def shared(self, rid: str) -> bool:
        """Whether another run was on `rid`'s GPU at any time while it ran."""
        return self.crowd.get(rid, (1, 1))[0] > 1

    def out_of_memory(self, rid: str, shape: Hashable) -> bool:
        """Learn from `rid` running out of memory (call before `release`); True when it shared its GPU
        and should be started again."""
        if not self.shared(rid):
            return False
        same = self.crowd[rid][1]
        self.factor[shape] = max(1, min(self.factor.get(shape, self.per_device), same - 1))
        self.growth[shape] = self.growth.get(shape, 1.0) * OOM_GROWTH
        return True

    def layout(self, needs: dict[str, Need]) -> dict[str, list[str]]:
        """The first wave: slot name -> the runs placed there if `needs` (in order) started now on
        empty slots; the runs that wait are left out. Places nothing for real."""
        trial = Packer([d.slot for d in self.devices], self.per_device)
        trial.factor, trial.growth = dict(self.factor), dict(self.growth)
        for rid, need in needs.items():
            trial.place(rid, need)
        return {d.slot.name: list(d.runs) for d in trial.devices}


def run_needs(runs: list[PlannedRun]) -> dict[str, Need]:
    """Each run's GPU budget (plan/memory.py; a run with its training done only evaluates) and shape."""
    work = work_of(runs)
    return {
        run.id: Need(estimate_memory(run.config, work[run.id].what == "train").budget, memory_key(run.config))
        for run in runs
    }


def gpu_fraction(budget: float, memory: float | None, runs_per_gpu: int) -> float:
    """The share of one GPU a run asks a scheduler with fractional GPUs for (Ray): its budget over
    the GPU's usable memory, at least 1/runs_per_gpu, at most 1, rounded up to a hundredth; without
    the GPU's memory, 1/runs_per_gpu."""
    floor = 1 / runs_per_gpu
    if not memory:
        return floor
    return min(1.0, max(floor, math.ceil(budget / (memory * USABLE) * 100) / 100))
