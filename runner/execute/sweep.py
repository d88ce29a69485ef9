"""`mixft sweep`: record every planned run in the store, then run the ones not done on the sweep's
executor (`executor.name`), longest first, and summarise.

run: mixft sweep smoke    (re-running it skips done runs, resumes interrupted ones, retries failed ones)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mixft.runner.config.run import epochs_and_warmup, training_sources
from mixft.runner.data.sources import from_samples
from mixft.runner.errors import ConfigError
from mixft.runner.execute.executors import executor_for
from mixft.runner.execute.preflight import preflight
from mixft.runner.execute.states import eligible, free_bytes, held_by
from mixft.runner.paths import run_dir, store_root
from mixft.runner.plan.disk import disk_need, size_text
from mixft.runner.plan.grid import Plan, PlannedRun
from mixft.runner.store.claims import claim_summary
from mixft.runner.store.status import STATES, current_status, last_error_line
from mixft.runner.store.sweeps import record_sweep

UNKNOWN_ROWS = 10_000  # rows assumed for an uncapped source, for ordering only


@dataclass
class Outcome:
    counts: dict[str, int]
    # (run id, last error line) of runs that failed for good
    failed: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    # (run id, state: last error line) of runs left to resume: interrupted, pending or running
    unfinished: list[tuple[str, str]] = field(default_factory=list)


def record(plan: Plan) -> None:
    """Write every planned run's directory (pending if new) and the sweep's record in the store."""
    record_sweep(plan.sweep, ((r.id, r.config, r.overrides, r.role, facts(r)) for r in plan.runs))


def facts(run: PlannedRun) -> dict[str, Any]:
    """What a run's training folder records of its identity (recipe, data files)."""
    return run.ids.training_facts() if run.ids else {}


def estimated_cost(run: PlannedRun) -> float:
    """Relative cost for ordering: training rows x epochs x parameters (base runs: evaluation only)."""
    cfg = run.config
    if run.role == "base":
        return cfg.model.num_parameters * 1e-3
    rows = 0.0
    for name in training_sources(cfg):
        task = cfg.task[name]
        rows += (
            cfg.data.sample_train_rows if from_samples(task, cfg.data) else task.max_examples or UNKNOWN_ROWS
        )
    epochs, _ = epochs_and_warmup(cfg)
    steps = (
        cfg.training.max_steps * cfg.training.per_device_train_batch_size
        if cfg.training.max_steps > 0
        else rows * epochs
    )
    return steps * cfg.model.num_parameters


def queue(plan: Plan, retries: int) -> list[PlannedRun]:
    """The runs to start, longest first: pending, interrupted, or failed with retries left, and those a
    live process elsewhere holds (an executor waits for them, or leaves them to it)."""
    ordered = sorted(plan.runs, key=estimated_cost, reverse=True)
    return [run for run in ordered if eligible(run.id, retries) or held_by(run.id) is not None]


def disk_check(todo: list[PlannedRun], force: bool = False) -> str:
    """One line on the disk the runs to do need (plan/disk.py) and the store's free space.

    Raises:
        ConfigError: they need more than the store's file system has free, unless `force`.
    """
    need, free, store = disk_need(todo), free_bytes(store_root()), store_root()
    line = f"disk: the runs to do need about {size_text(need.total)} ({need.parts()})"
    if free is None:
        return f"{line}; the free space of {store} is unknown"
    line += f", {size_text(free)} free in the store ({store})"
    if need.total > free and not force:
        raise ConfigError(
            f"the runs to do need about {size_text(need.total)} of disk ({need.parts()}) and the store "
            f"({store}) has {size_text(free)} free; free some, set MIXFT_HOME to a larger disk, or pass --force"
        )
    return line


def run_sweep(
    plan: Plan,
    report: Callable[[str, str], None],
    tick: Callable[[], None] = lambda: None,
    checks: bool = False,
) -> Outcome:
    """Check the sources of the runs to start (pre-flight), record the plan, run every eligible run
    on the sweep's executor, and summarise.

    Args:
        plan: The expanded sweep; its runs' `executor` settings pick the executor.
        report: Called with (event, text) as runs start and end.
        tick: Called while waiting (a live display refreshes there).
        checks: Report every source split the pre-flight checked (a rehearsal), not only the count.

    Raises:
        ConfigError: a source cannot be loaded or does not fit its task; nothing ran.
    """
    settings = plan.executor()
    executor = executor_for(settings)
    todo = queue(plan, settings.retries)
    if todo:  # every source the runs read loads and fits its task, before any run trains
        each = (lambda line: report("checked", line)) if checks else None
        report("pre-flight", f"{preflight(todo, each)} source splits load and fit their tasks")
    record(plan)
    interrupted = executor.run(plan, todo, report, tick)
    return summarise(plan, settings.retries, interrupted)


def summarise(plan: Plan, retries: int, interrupted: bool = False) -> Outcome:
    """Counts per state (as `mixft status` shows them), the runs that failed for good, those left."""
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    failed, unfinished = [], []
    for run in plan.runs:
        folder = run_dir(run.id)
        status = current_status(folder, claim_summary(folder))
        state, error = status["state"], last_error_line(status)
        counts[state] += 1
        if state == "failed" and not eligible(run.id, retries):
            failed.append((run.id, error or "no error recorded"))
        elif state in ("pending", "running", "interrupted"):
            unfinished.append((run.id, f"{state}: {error}" if error else state))
    return Outcome(counts, failed, interrupted, unfinished)
