"""The local executor: this host's GPUs, or CPU workers, one run process per device slot.

run: mixft sweep smoke    |    mixft sweep cocktail_paper --gpus 0-7 --gpus-per-run 2    |    mixft sweep smoke --procs-per-run 2

Runs are placed on free slots in the order given (longest first). A run claimed by another live
process (a second sweep, a worker left from a killed sweep) is waited for, not run twice. The first
Ctrl-C stops launching and interrupts the running runs (they record it and resume next time); a
second one kills them.
"""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Callable

from mixft.runner.config.executors import LocalConfig
from mixft.runner.errors import ConfigError
from mixft.runner.execute.entry import EXIT_CLAIMED
from mixft.runner.execute.executors.base import Executor, Report
from mixft.runner.execute.executors.interrupt import CtrlC
from mixft.runner.execute.executors.packing import Need, Packer, host_memory, run_needs
from mixft.runner.execute.executors.processes import Job, LocalLauncher
from mixft.runner.execute.executors.slots import Slot, device_slots, leftover_gpus, select_gpus
from mixft.runner.execute.states import eligible, exit_cause, held_by, record_state, run_cause
from mixft.runner.paths import run_dir
from mixft.runner.plan.grid import Plan, PlannedRun
from mixft.runner.store import faults, rundir
from mixft.runner.store.status import not_counted, read_status

POLL_S = 0.2
OOM_HINT = "lower training.per_device_train_batch_size, or set training.gradient_checkpointing=true"


class Runner:
    """The launch/reap loop over a fixed set of slots, several runs a GPU by memory (packing.py)."""

    def __init__(
        self,
        plan: Plan,
        slots: list[Slot],
        settings: LocalConfig,
        report: Callable[[str, str], None],
        needs: dict[str, Need] | None = None,
    ) -> None:
        self.plan, self.settings, self.report = plan, settings, report
        self.packer = Packer(slots, settings.runs_per_gpu, settings.max_parallel, host_memory())
        self.needs = needs or {}
        # run id -> the slot it ran out of memory on, for a run started again after it
        self.out_of_memory: dict[str, str] = {}
        self.active: dict[str, Job] = {}
        self.waiting: set[str] = set()
        self.launcher = LocalLauncher()
        self.stopping = False
        self.by_id = {run.id: run for run in plan.runs}

    def _launch(self, pending: deque[str]) -> None:
        deferred: list[str] = []  # runs that fit on no GPU now: smaller ones after them go first
        while pending and not self.stopping and not self.packer.full():
            rid = pending.popleft()
            # placing first is cheap (memory only); the store is read only for a run that fits
            slot = self.packer.place(rid, self.needs.get(rid, Need(0.0)), self.out_of_memory.get(rid))
            if slot is None:
                deferred.append(rid)
                continue
            held = held_by(rid)
            if held is not None:  # another sweep, or a worker left from a killed one: wait for it
                self.packer.release(rid)
                self.waiting.add(rid)
                self.report("waiting", f"{rid} is being run by {held}")
                continue
            if not (self.out_of_memory.pop(rid, None) or eligible(rid, self.settings.retries)):
                self.packer.release(rid)
                continue
            deepspeed = self.by_id[rid].config.training.deepspeed
            log = rundir.run_log(run_dir(rid))
            self.active[rid] = self.launcher.start(rid, self.plan.sweep, slot, log, deepspeed=deepspeed)
            self.report("start", f"{rid} on {slot.name}")
        pending.extendleft(reversed(deferred))

    def _finish(self, rid: str, code: int, pending: deque[str]) -> None:
        job = self.active.pop(rid)
        if code > 0 and code != EXIT_CLAIMED and held_by(rid) is not None:
            # a launcher reports a rank's exit 3 (claimed elsewhere) as its own failure (1), once all
            # its ranks are gone: the run's claim, held by a live process now, was not ours to record
            code = EXIT_CLAIMED
        state = read_status(run_dir(rid))["state"]
        again = code != EXIT_CLAIMED and state == "failed" and self._retry_out_of_memory(rid, job.slot)
        alone = not self.packer.shared(rid)
        self.packer.release(rid)
        if code == EXIT_CLAIMED:
            self.waiting.add(rid)
            return
        if again:
            pending.appendleft(rid)
            return
        state, cause, unrecorded = self._ended(rid, code, state)
        error = cause.line if state in ("failed", "interrupted") else ""
        error = f"{error}; {unrecorded}" if unrecorded else error
        if job.slot.gpus and alone and cause.kind == faults.GPU_MEMORY:
            error += f" (alone on {job.slot.name}: {OOM_HINT})"
        self.report(state, f"{rid} ({time.time() - job.started:.0f} s)" + (f": {error}" if error else ""))
        retry = state == "failed" and not unrecorded and not self.stopping
        if retry and eligible(rid, self.settings.retries):
            pending.append(rid)

    def _ended(self, rid: str, code: int, state: str) -> tuple[str, faults.Cause, str | None]:
        """The state a run's process left, its cause, and why it was not recorded (or None).

        A process that recorded no end (the kernel's OOM kill, a disk too full for its status, a
        crash) is classified from its run.log and exit code (store/faults.py): a fault of the machine
        is interrupted, any other end failed.
        """
        if state not in ("running", "pending") or code == 0:
            return state, run_cause(rid), None
        cause = exit_cause(rid, code)
        ended = "interrupted" if self.stopping or cause.resumable else "failed"
        if state == "pending":  # ended before it started (a signal, a full disk): it stays pending
            return ended, cause, "it ended before it started (see its run.log)"
        return ended, cause, record_state(rid, ended, cause.line, cause.line)

    def _retry_out_of_memory(self, rid: str, slot: Slot) -> bool:
        """A packed run that ran out of GPU memory: lower its shape's packing, start it again (the
        attempt does not count against --retries)."""
        need = self.needs.get(rid)
        if self.stopping or need is None or run_cause(rid).kind != faults.GPU_MEMORY:
            return False
        if not self.packer.out_of_memory(rid, need.shape):
            return False
        not_counted(run_dir(rid), f"out of memory beside other runs on {slot.name}")
        self.out_of_memory[rid] = slot.name
        self.report("oom", f"{rid} ran out of memory beside other runs on {slot.name}: starting it again")
        return True

    def _reap(self, pending: deque[str]) -> None:
        limit = self.settings.timeout_min
        for rid, job in list(self.active.items()):
            code = job.exitcode()
            if code is None and limit is not None and time.time() - job.started > limit * 60:
                self.launcher.stop(job)
                if read_status(run_dir(rid))["state"] in ("running", "interrupted"):
                    record_state(rid, "failed", f"timed out after {limit:g} min")
                code = job.exitcode() or -signal.SIGTERM
            if code is not None:
                self._finish(rid, code, pending)

    def _unwait(self, pending: deque[str]) -> None:
        for rid in list(self.waiting):
            if held_by(rid) is None:
                self.waiting.discard(rid)
                if eligible(rid, self.settings.retries):
                    pending.append(rid)

    def stop(self, kill: bool) -> None:
        """Stop launching; interrupt (or kill) the running runs."""
        self.stopping = True
        for job in self.active.values():
            job.signal(signal.SIGKILL if kill else signal.SIGTERM)

    def run(self, queue: list[str], tick: Callable[[], None]) -> None:
        """Run `queue` (in order) until every run is done, failed for good, or the sweep is stopped."""
        pending = deque(queue)
        while self.active or ((pending or self.waiting) and not self.stopping):
            self._launch(pending)
            self._reap(pending)
            self._unwait(pending)
            tick()
            time.sleep(POLL_S)


class LocalExecutor(Executor):
    """Runs on this host's device slots (settings: config/executors.py's LocalConfig)."""

    name = "local"
    settings: LocalConfig

    def slots(self) -> list[Slot]:
        """The device slots runs are placed in."""
        s = self.settings
        return device_slots(
            s.gpus, s.gpus_per_run, s.max_parallel, memory_gb=s.gpu_memory_gb, procs_per_run=s.procs_per_run
        )

    def packer(self) -> Packer:
        """The placement of runs on this host's slots, checked: packing needs each GPU's memory."""
        slots, per_gpu = self.slots(), self.settings.runs_per_gpu
        packer = Packer(slots, per_gpu, self.settings.max_parallel, host_memory())
        unknown = [slot.name for slot in slots if packer.packing and slot.memory is None]
        if unknown:
            raise ConfigError(
                f"--runs-per-gpu {per_gpu}: the memory of {', '.join(unknown)} is unknown (no nvidia-smi); "
                "set executor.gpu_memory_gb"
            )
        return packer

    def where(self) -> str:
        packer = self.packer()
        slots = [d.slot for d in packer.devices]
        text = f"{len(slots)} slot(s) ({', '.join(slot.name for slot in slots)})"
        if slots and slots[0].procs > 1:
            text += f", {slots[0].procs} processes a run (torchrun, gloo)"
        if packer.packing:
            text += f", up to {packer.per_device} runs a GPU by memory"
        elif self.settings.runs_per_gpu > 1:
            text += " (--runs-per-gpu applies to GPUs only)"
        s = self.settings
        unused = leftover_gpus(select_gpus(s.gpus), s.gpus_per_run) if slots and slots[0].gpus else []
        if unused:
            text += f"; GPU {','.join(map(str, unused))} unused (not a whole group of --gpus-per-run {s.gpus_per_run})"
        return text

    def layout(self, queue: list[PlannedRun]) -> list[str]:
        """Lines that say where the first runs of `queue` would go when packing (else none)."""
        packer = self.packer()
        if not packer.packing:
            return []
        needs = run_needs(queue)
        lines = []
        for device, placed in zip(packer.devices, packer.layout(needs).values(), strict=True):
            used = sum(needs[rid].budget for rid in placed) / 1e9
            memory = (device.slot.memory or 0) / 1e9
            lines.append(
                f"{device.slot.name}: {len(placed)} run(s), {used:.1f} of {memory:.0f} GB: {' '.join(placed)}"
            )
        waiting = len(queue) - sum(len(p) for p in packer.layout(needs).values())
        return lines + ([f"{waiting} run(s) wait for room"] if waiting else [])

    def run(self, plan: Plan, queue: list[PlannedRun], report: Report, tick: Callable[[], None]) -> bool:
        packer = self.packer()
        needs = run_needs(queue) if packer.packing else {}
        runner = Runner(plan, [d.slot for d in packer.devices], self.settings, report, needs)
        with CtrlC(report, lambda kill: runner.stop(kill=kill)) as ctrl_c:
            runner.run([run.id for run in queue], tick)
        return ctrl_c.pressed
