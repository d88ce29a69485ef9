"""The local executor: this host's GPUs, or CPU workers, one run process per device slot.

run: mixft sweep smoke    |    mixft sweep cocktail_paper --gpus 0-7 --gpus-per-run 2

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
from typing import Any

from mixft.runner.config.executors import LocalConfig
from mixft.runner.execute.entry import EXIT_CLAIMED
from mixft.runner.execute.executors.base import Executor, Report
from mixft.runner.execute.executors.processes import Job, LocalLauncher
from mixft.runner.execute.executors.slots import Slot, device_slots
from mixft.runner.execute.states import eligible, held_by, last_error, record_state
from mixft.runner.paths import run_dir
from mixft.runner.plan.grid import Plan, PlannedRun
from mixft.runner.store import rundir
from mixft.runner.store.status import read_status

POLL_S = 0.2


class Runner:
    """The launch/reap loop over a fixed set of slots."""

    def __init__(
        self, plan: Plan, slots: list[Slot], settings: LocalConfig, report: Callable[[str, str], None]
    ) -> None:
        self.plan, self.settings, self.report = plan, settings, report
        self.free = list(slots)
        self.active: dict[str, Job] = {}
        self.waiting: set[str] = set()
        self.launcher = LocalLauncher()
        self.stopping = False
        self.by_id = {run.id: run for run in plan.runs}

    def _launch(self, pending: deque[str]) -> None:
        while self.free and pending and not self.stopping:
            rid = pending.popleft()
            held = held_by(rid)
            if held is not None:  # another sweep, or a worker left from a killed one: wait for it
                self.waiting.add(rid)
                self.report("waiting", f"{rid} is being run by {held}")
                continue
            if not eligible(rid, self.settings.retries):
                continue
            slot = self.free.pop(0)
            deepspeed = self.by_id[rid].config.training.deepspeed
            log = rundir.run_log(run_dir(rid))
            self.active[rid] = self.launcher.start(rid, self.plan.sweep, slot, log, deepspeed=deepspeed)
            self.report("start", f"{rid} on {slot.name}")

    def _finish(self, rid: str, code: int, pending: deque[str]) -> None:
        job = self.active.pop(rid)
        self.free.append(job.slot)
        state = read_status(run_dir(rid))["state"]
        if code == EXIT_CLAIMED:
            self.waiting.add(rid)
            return
        unrecorded = None
        if state == "running":  # died without recording it: OOM kill, segfault, a signal while stopping
            state = "interrupted" if self.stopping else "failed"
            unrecorded = record_state(rid, state, f"the run process exited with code {code}")
        elif state == "pending" and code != 0:  # ended before it started: a signal, a full disk
            state = "interrupted" if self.stopping else "failed"
            unrecorded = f"the run process exited with code {code} before it started (see its run.log)"
        self.report(
            state,
            f"{rid} ({time.time() - job.started:.0f} s)"
            + (f": {unrecorded or last_error(rid)}" if state == "failed" else ""),
        )
        retry = state == "failed" and not unrecorded and not self.stopping
        if retry and eligible(rid, self.settings.retries):
            pending.append(rid)

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
        return device_slots(s.gpus, s.gpus_per_run, s.max_parallel)

    def where(self) -> str:
        slots = self.slots()
        return f"{len(slots)} slot(s) ({', '.join(slot.name for slot in slots)})"

    def run(self, plan: Plan, queue: list[PlannedRun], report: Report, tick: Callable[[], None]) -> bool:
        runner = Runner(plan, self.slots(), self.settings, report)
        presses = {"n": 0}

        def on_sigint(signum: int, frame: Any) -> None:
            presses["n"] += 1
            report("stopping", "Ctrl-C again to kill" if presses["n"] == 1 else "killing running runs")
            runner.stop(kill=presses["n"] > 1)

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            runner.run([run.id for run in queue], tick)
        finally:
            signal.signal(signal.SIGINT, previous)
        return presses["n"] > 0
