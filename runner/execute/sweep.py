"""`mixft sweep`: write every planned run's directory, then run the ones not done on this host.

run: mixft sweep smoke    (re-running it skips done runs, resumes interrupted ones, retries failed ones)

Runs are placed on free device slots, longest first. A run claimed by another live process (a
second sweep, a worker left from a killed sweep) is waited for, not run twice. The first Ctrl-C
stops launching and interrupts the running runs (they record it and resume next time); a second
one kills them.
"""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mixft.runner.config.schema import ExecutorConfig
from mixft.runner.execute.entry import EXIT_CLAIMED
from mixft.runner.execute.executors.local import Job, LocalLauncher
from mixft.runner.execute.executors.slots import Slot
from mixft.runner.paths import run_dir, store_root
from mixft.runner.plan.grid import Plan, PlannedRun
from mixft.runner.store import rundir
from mixft.runner.store.atomic import write_json
from mixft.runner.store.claims import claim_summary, holder
from mixft.runner.store.status import current_status
from mixft.runner.train.trl_adapter import epochs_and_warmup

POLL_S = 0.2


@dataclass
class Options:
    retries: int = 0
    # per-run wall-clock limit in minutes; None: none
    timeout_min: float | None = None


@dataclass
class Outcome:
    counts: dict[str, int]
    # (run id, last error line) of runs that failed for good
    failed: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    # (run id, state: last error line) of runs left to resume: interrupted, pending or running
    unfinished: list[tuple[str, str]] = field(default_factory=list)


def record(plan: Plan) -> None:
    """Remember which runs a sweep holds ($MIXFT_HOME/sweeps/NAME.json); then write their run dirs."""
    for run in plan.runs:
        rundir.write_run_files(run_dir(run.id), run.config, run.overrides, run.id, run.role, plan.sweep)
    write_json(
        store_root() / "sweeps" / f"{plan.sweep}.json",
        {"name": plan.sweep, "updated": rundir.now(), "runs": [run.id for run in plan.runs]},
    )


def eligible(rid: str, retries: int) -> bool:
    """A run to (re)start: pending, interrupted, failed with retries left, or running with a dead holder."""
    status = rundir.read_status(run_dir(rid))
    state = status["state"]
    if state == "failed":
        return status.get("attempts", 0) < 1 + retries
    if state == "running":
        return holder(run_dir(rid)) is None
    return state in ("pending", "interrupted")


def estimated_cost(run: PlannedRun) -> float:
    """Relative cost for ordering: training rows x epochs x parameters (base runs: evaluation only)."""
    cfg = run.config
    if run.role == "base":
        return cfg.model.num_parameters * 1e-3
    rows = 0.0
    for name in [*cfg.mixture.tasks, *cfg.regularizer.sources]:
        task = cfg.task[name]
        rows += cfg.data.sample_train_rows if cfg.data.samples else task.max_examples or 10_000
    epochs, _ = epochs_and_warmup(cfg.training, len(cfg.mixture.tasks) + len(cfg.regularizer.sources))
    steps = (
        cfg.training.max_steps * cfg.training.per_device_train_batch_size
        if cfg.training.max_steps > 0
        else rows * epochs
    )
    return steps * cfg.model.num_parameters


def last_error(rid: str) -> str:
    """The last line of a run's recorded error."""
    error = (current_status(run_dir(rid), claim_summary(run_dir(rid))).get("error") or "").strip()
    return error.splitlines()[-1] if error else "no error recorded"


def record_state(rid: str, state: str, error: str) -> str | None:
    """Set a run's state for a process that could not; None, or why it could not be written.

    A full disk must not stop the sweep: the run stays `running` with no holder, which `mixft status`
    shows as interrupted and the next `mixft sweep` resumes.
    """
    try:
        rundir.set_state(run_dir(rid), state, error)
    except OSError as exc:
        return f"its state could not be recorded ({exc}); the next sweep resumes it"
    return None


class Runner:
    """The launch/reap loop over a fixed set of slots."""

    def __init__(
        self, plan: Plan, slots: list[Slot], options: Options, report: Callable[[str, str], None]
    ) -> None:
        self.plan, self.options, self.report = plan, options, report
        self.free = list(slots)
        self.active: dict[str, Job] = {}
        self.waiting: set[str] = set()
        self.launcher = LocalLauncher()
        self.stopping = False
        self.by_id = {run.id: run for run in plan.runs}

    def _launch(self, pending: deque[str]) -> None:
        while self.free and pending and not self.stopping:
            rid = pending.popleft()
            if not eligible(rid, self.options.retries):
                continue
            if holder(run_dir(rid)) is not None:
                self.waiting.add(rid)
                continue
            slot = self.free.pop(0)
            deepspeed = self.by_id[rid].config.training.deepspeed is not None and slot.gpus > 0
            self.active[rid] = self.launcher.start(
                rid, self.plan.sweep, slot, run_dir(rid) / "run.log", deepspeed=deepspeed
            )
            self.report("start", f"{rid} on {slot.name}")

    def _finish(self, rid: str, code: int, pending: deque[str]) -> None:
        job = self.active.pop(rid)
        self.free.append(job.slot)
        state = rundir.read_status(run_dir(rid))["state"]
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
        if state == "failed" and not unrecorded and eligible(rid, self.options.retries) and not self.stopping:
            pending.append(rid)

    def _reap(self, pending: deque[str]) -> None:
        limit = self.options.timeout_min
        for rid, job in list(self.active.items()):
            code = job.exitcode()
            if code is None and limit is not None and time.time() - job.started > limit * 60:
                self.launcher.stop(job)
                if rundir.read_status(run_dir(rid))["state"] in ("running", "interrupted"):
                    record_state(rid, "failed", f"timed out after {limit:g} min")
                code = job.exitcode() or -signal.SIGTERM
            if code is not None:
                self._finish(rid, code, pending)

    def _unwait(self, pending: deque[str]) -> None:
        for rid in list(self.waiting):
            if holder(run_dir(rid)) is None:
                self.waiting.discard(rid)
                if eligible(rid, self.options.retries):
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


def run_sweep(
    plan: Plan,
    slots: list[Slot],
    options: Options,
    report: Callable[[str, str], None],
    tick: Callable[[], None] = lambda: None,
) -> Outcome:
    """Record the plan, run every eligible run on `slots`, and summarise.

    Args:
        plan: The expanded sweep.
        slots: Device slots of this host.
        options: Retries and the per-run timeout.
        report: Called with (event, text) as runs start and end.
        tick: Called on every poll (a live display refreshes there).
    """
    record(plan)
    queue = [
        r.id for r in sorted(plan.runs, key=estimated_cost, reverse=True) if eligible(r.id, options.retries)
    ]
    runner = Runner(plan, slots, options, report)
    presses = {"n": 0}

    def on_sigint(signum: int, frame: Any) -> None:
        presses["n"] += 1
        report("stopping", "Ctrl-C again to kill" if presses["n"] == 1 else "killing running runs")
        runner.stop(kill=presses["n"] > 1)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        runner.run(queue, tick)
    finally:
        signal.signal(signal.SIGINT, previous)
    return summarise(plan, options.retries, interrupted=presses["n"] > 0)


def summarise(plan: Plan, retries: int, interrupted: bool = False) -> Outcome:
    """Counts per state (as `mixft status` shows them), the runs that failed for good, those left."""
    counts: dict[str, int] = dict.fromkeys(rundir.STATES, 0)
    failed, unfinished = [], []
    for run in plan.runs:
        folder = run_dir(run.id)
        status = current_status(folder, claim_summary(folder))
        state = status["state"]
        counts[state] += 1
        error = (status.get("error") or "").strip().splitlines()[-1:] or [""]
        if state == "failed" and not eligible(run.id, retries):
            failed.append((run.id, error[0] or "no error recorded"))
        elif state in ("pending", "running", "interrupted"):
            unfinished.append((run.id, f"{state}: {error[0]}" if error[0] else state))
    return Outcome(counts, failed, interrupted, unfinished)


def run_on_slurm(plan: Plan, settings: ExecutorConfig, report: Callable[[str, str], None]) -> Outcome:
    """Record the plan, submit its eligible runs as one SLURM job array, wait for it, and summarise.

    Runs claimed by a live process elsewhere are left to it; failed runs are retried by the next
    `mixft sweep` while they have retries left.
    """
    from mixft.runner.execute.executors import slurm

    record(plan)
    retries = settings.retries
    ordered = sorted(plan.runs, key=estimated_cost, reverse=True)
    todo = [r.id for r in ordered if eligible(r.id, retries) and holder(run_dir(r.id)) is None]
    if todo:
        jobs = slurm.submit(plan.sweep, todo, settings)
        report("submitted", f"{len(jobs)} runs as SLURM job array {jobs[0].split('_')[0]}")
        slurm.wait(jobs, report)
    return summarise(plan, retries)
