"""Run planned runs of a sweep, each sent a real signal by itself at a chosen moment.

run: python -m tests.reliability.inject SWEEP_FILE INDEX:MOMENT:SIGNAL ...    (from the repo root)

Each run is the one `mixft sweep` would run (same entry point, same run dir), in a process forked
from this one once it has imported the training stack, as the sweep's fork server does. Test code
wraps one library function there, so that the signal arrives exactly while that write is under way:

    checkpoint  half of checkpoint-4/optimizer.pt is on disk (trainer_state.json not yet written)
    final       the final weights are complete in .model-staging, not yet renamed to model/
    metrics     the training's metrics.json: its temporary file is written and synced, not yet renamed
    claim       the run's claim.json is written, the claim lock is still held, status is not yet running

Two runs go at a time; one line per run is printed: exit INDEX CODE (-N: ended by signal N).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

CHECKPOINT_STEP = 4


def _hit(signum: int) -> None:
    os.kill(os.getpid(), signum)


def _patch_checkpoint(signum: int) -> None:
    import torch

    save = torch.save

    def torn_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        path = Path(str(f))
        if path.name == "optimizer.pt" and path.parent.name == f"checkpoint-{CHECKPOINT_STEP}":
            save(obj, f, *args, **kwargs)
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
            _hit(signum)
        save(obj, f, *args, **kwargs)

    torch.save = torn_save


def _patch_final(signum: int) -> None:
    rename = Path.rename

    def rename_then_die(self: Path, target: Any) -> Any:
        if self.name == ".model-staging":
            _hit(signum)
        return rename(self, target)

    Path.rename = rename_then_die


def _patch_metrics(signum: int) -> None:
    replace = os.replace

    def replace_then_die(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst).name == "metrics.json":
            _hit(signum)
        replace(src, dst, *args, **kwargs)

    os.replace = replace_then_die


def _patch_claim(signum: int) -> None:
    from mixft.runner.store import claims

    write = claims.write_json

    def write_then_die(path: Path, data: Any) -> None:
        write(path, data)
        if path.name == "claim.json":
            _hit(signum)

    claims.write_json = write_then_die


PATCHES = {
    "checkpoint": _patch_checkpoint,
    "final": _patch_final,
    "metrics": _patch_metrics,
    "claim": _patch_claim,
}


def _child(plan: Any, index: int, moment: str, name: str) -> None:
    """Body of one forked run: output to its run.log, the patch, the entry point; never returns."""
    from mixft.runner.execute.entry import main as entry_main
    from mixft.runner.paths import run_dir
    from mixft.runner.store.rundir import run_log

    rid = plan.runs[index].id
    with open(run_log(run_dir(rid)), "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    PATCHES[moment](getattr(signal, f"SIG{name}"))
    code = 1
    try:
        code = entry_main([rid, "--sweep", plan.sweep])
    finally:
        os._exit(code)


def main(argv: list[str]) -> int:
    """Record the sweep like `mixft sweep`, then run the chosen runs, two at a time."""
    import importlib

    from mixft.runner.execute.executors.processes import PRELOAD
    from mixft.runner.execute.sweep import record
    from mixft.runner.plan.grid import expand
    from mixft.runner.plan.sweepfile import load_sweep

    for name in PRELOAD:  # what the sweep's fork server imports before it forks a run
        importlib.import_module(name)
    plan = expand(load_sweep(argv[0]))
    plan.runs.sort(key=lambda run: run.config.seed)
    record(plan)
    todo = [(int(index), moment, name) for index, moment, name in (arg.split(":") for arg in argv[1:])]
    running: dict[int, int] = {}
    while todo or running:
        while todo and len(running) < 2:
            index, moment, name = todo.pop(0)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _child(plan, index, moment, name)
            running[pid] = index
        pid, status = os.wait()
        print("exit", running.pop(pid), os.waitstatus_to_exitcode(status), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
