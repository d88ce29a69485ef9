"""An out-of-memory restart beside other runs is recognised from CUDA's runtime error (whose last
line is the TORCH_USE_CUDA_DSA hint) and does not use up --retries.

run: .venv/bin/python -m pytest tests/faults/test_oom_restart.py -q
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mixft.runner.config.executors import LocalConfig
from mixft.runner.execute.executors.local import Runner
from mixft.runner.execute.executors.packing import Need
from mixft.runner.execute.executors.processes import Job
from mixft.runner.execute.executors.slots import Slot
from mixft.runner.execute.states import eligible
from mixft.runner.paths import run_dir
from mixft.runner.plan.grid import Plan
from mixft.runner.store import status as states
from tests.reliability.test_units import planned, write

GB = 1e9
CUDA_RUNTIME_OOM = (
    Path(__file__).resolve().parents[1] / "data" / "tracebacks" / "cuda_runtime_oom.txt"
).read_text()
LIBRARY_ERROR = 'Traceback (most recent call last):\n  File "x.py", line 1, in f\nValueError: a bad batch\n'


class ScriptedLauncher:
    """Starts no process: each start of a run plays the next end of its script ("oom" records
    CUDA's runtime out-of-memory traceback, "error" a library's error, "done" its end), as a run
    process would record them, after a moment on its slot."""

    def __init__(self, scripts: dict[str, list[str]]) -> None:
        self.scripts = scripts
        self.started: list[str] = []

    def start(self, run_id: str, sweep: str | None, slot: Slot, log_path: Any, deepspeed: Any = None) -> Job:
        self.started.append(run_id)
        states.set_state(run_dir(run_id), "running")
        return Job(run_id, slot, handle=Scripted(run_id, self.scripts[run_id].pop(0)))

    def stop(self, job: Job, grace_s: float = 0.0) -> None:
        job.handle.end()


class Scripted:
    def __init__(self, rid: str, end: str) -> None:
        self.rid, self.what, self.pid, self.code, self.until = rid, end, None, None, time.time() + 0.3

    @property
    def exitcode(self) -> int | None:
        if self.code is None and time.time() >= self.until:
            self.end()
        return self.code

    def end(self) -> None:
        folder = run_dir(self.rid)
        if self.what == "done":
            states.set_state(folder, "done")
        else:
            states.set_state(folder, "failed", CUDA_RUNTIME_OOM if self.what == "oom" else LIBRARY_ERROR)
        self.code = 0 if self.what == "done" else 1


def test_a_restart_after_cuda_runtime_out_of_memory_does_not_use_up_retries():
    first, second = planned("seed=1"), planned("seed=2")
    for run in (first, second):
        write(run, "oom")
    events: list[tuple[str, str]] = []
    runner = Runner(
        Plan("oom", [first, second]),
        [Slot("gpu0", gpus=1, memory=80 * GB)],
        LocalConfig(gpus="0", runs_per_gpu=2, gpu_memory_gb=80, retries=1),
        lambda *e: events.append(e),
        {first.id: Need(10 * GB, "same"), second.id: Need(10 * GB, "same")},
    )
    # beside the other run it runs out of memory, then fails of an error, then has its one retry
    launcher = ScriptedLauncher({first.id: ["oom", "error", "done"], second.id: ["done"]})
    runner.launcher = launcher  # type: ignore[assignment]
    runner.run([first.id, second.id], tick=lambda: None)
    status = states.read_status(run_dir(first.id))
    assert status["state"] == "done", events
    assert [h["state"] for h in status["history"]] == ["failed", "failed", "done"]
    assert status["history"][0]["restarted"] == "out of memory beside other runs on gpu0"
    assert [e for e, _ in events].count("oom") == 1 and launcher.started.count(first.id) == 3
    # the restart counted nothing: after the error, the one retry was still there
    assert states.failures(status) == 1
    assert eligible(first.id, 0) is False  # done
