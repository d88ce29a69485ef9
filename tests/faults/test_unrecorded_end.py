"""A run process that ended without recording it: the sweep classifies it from what this attempt
wrote to its run.log and from its exit code (runner/execute/states.py's exit_cause), on the local
executor and on Ray's driver alike.

run: .venv/bin/python -m pytest tests/faults/test_unrecorded_end.py -q
"""

from __future__ import annotations

import signal
from collections import deque
from pathlib import Path

import pytest

from mixft.runner.config.executors import LocalConfig, RayConfig
from mixft.runner.execute.executors.local import Runner
from mixft.runner.execute.executors.processes import Job
from mixft.runner.execute.executors.ray_driver import Driver
from mixft.runner.execute.executors.slots import Slot
from mixft.runner.paths import run_dir
from mixft.runner.plan.grid import Plan, PlannedRun
from mixft.runner.store import rundir
from mixft.runner.store import status as states
from mixft.runner.store.rows import run_row
from tests.reliability.test_units import planned, write

TRACEBACKS = Path(__file__).resolve().parents[1] / "data" / "tracebacks"
OLD = (TRACEBACKS / "memory_error.txt").read_text()  # an earlier attempt's end, in the same run.log


ENDS = pytest.mark.parametrize(
    ("log", "code", "state", "line"),
    [
        ("enospc_write_json.txt", 75, "interrupted", "No space left on device writing /tmp/f/tmpfs/runs/"),
        (None, -signal.SIGKILL, "interrupted", "killed by SIGKILL"),
        ("library_error.txt", 1, "failed", "ValueError: adamw_tourch is not a valid OptimizerNames"),
        (None, 1, "failed", "the run process exited with code 1 (see its run.log)"),
    ],
)


def died_running(log: str | None) -> PlannedRun:
    """A planned run left `running` by a process that wrote `log`'s traceback (if any) and died."""
    run = planned()
    write(run, "units")
    folder = run_dir(run.id)
    rundir.run_log(folder).write_text(OLD)  # not this attempt's: must not be read
    states.set_state(folder, "running")
    with rundir.run_log(folder).open("a") as out:
        out.write("INFO step 2\n" + ((TRACEBACKS / log).read_text() if log else ""))
    return run


@ENDS
def test_an_end_the_run_could_not_record_is_told_from_its_log_and_exit_code(log, code, state, line):
    run = died_running(log)
    events: list[tuple[str, str]] = []
    runner = Runner(Plan("units", [run]), [], LocalConfig(retries=0), lambda *e: events.append(e))
    runner.active[run.id] = Job(run.id, Slot("cpu0"))
    runner._finish(run.id, code, deque())
    [(event, text)] = events
    assert event == state and line in text, text
    row = run_row(run.id)
    assert row["state"] == state and line in row["error"], row
    assert "\n" not in row["error"]


class OneTaskRay:
    """The few calls Ray's driver makes to collect an ended task: its exit code, no cluster."""

    exceptions = None  # ray.exceptions: read only when a task raised

    def __init__(self, code: int) -> None:
        self.code = code

    def remote(self, function: object) -> object:
        return function

    def nodes(self) -> list[dict[str, object]]:
        return []

    def get(self, ref: object) -> int:
        return self.code


@ENDS
def test_a_ray_task_whose_run_recorded_no_end_is_told_the_same_way(log, code, state, line):
    run = died_running(log)
    events: list[tuple[str, str]] = []
    driver = Driver(
        OneTaskRay(code), Plan("units", [run]), RayConfig(), 0, lambda *e: events.append(e), "h:1"
    )
    driver.refs["task"] = run.id
    driver.finish("task")
    [(event, text)] = events
    assert event == state and line in text, text
    row = run_row(run.id)
    assert row["state"] == state and line in row["error"], row
    assert not driver.refs  # nothing resubmitted: interrupted waits for the next sweep, failed has no retries
