"""Run processes on this host: one per run, forked from a server that has already imported torch.

run: mixft sweep smoke

Each run gets its own process (a crash or out-of-memory fails only that run) and its slot's
environment. A multiprocessing fork server imports the training stack once, so a run does not pay
the ~5 s import of torch, transformers and TRL; a run on K > 1 GPUs is started by `accelerate launch`,
one on P > 1 CPU processes by torchrun (execute/launch.py), each on a rendezvous port of its own.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixft.runner.execute.executors.slots import Slot
from mixft.runner.execute.launch import ENTRY, entry_args, launch_command, launch_env, needs_launcher

PRELOAD = [
    ENTRY,
    "mixft.runner.train.trainer",
    "mixft.runner.evaluate.evaluator",
    "torch",
    "transformers",
    "trl",
    # trl and transformers import lazily: `import trl` leaves SFTTrainer (and the Trainer, ~4 s on
    # 2 CPU cores) to the first use, which would be in every run process
    "trl.trainer.sft_trainer",
    "datasets",
]


def _child(run_id: str, sweep: str | None, env: dict[str, str], log_path: str) -> None:
    """Body of a run process: take the slot's environment, send output to the run's log, run."""
    os.environ.update(env)
    with open(log_path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    threads = env.get("OMP_NUM_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    from mixft.runner.execute.entry import main

    sys.exit(main(entry_args(run_id, sweep)))


def free_port() -> int:
    """A TCP port no process listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Job:
    run_id: str
    slot: Slot
    started: float = field(default_factory=time.time)
    handle: Any = None

    def exitcode(self) -> int | None:
        """None while running."""
        if isinstance(self.handle, subprocess.Popen):
            return self.handle.poll()
        return self.handle.exitcode

    def signal(self, signum: int) -> None:
        """Send a signal to the run process (and, for accelerate, to its workers)."""
        pid = self.handle.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum) if isinstance(self.handle, subprocess.Popen) else os.kill(pid, signum)


class LocalLauncher:
    """Starts run processes; the fork server starts on first use and lives until `close()`."""

    def __init__(self) -> None:
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)

    def start(
        self, run_id: str, sweep: str | None, slot: Slot, log_path: Path, deepspeed: str | None = None
    ) -> Job:
        """Start one run in `slot`; its stdout and stderr go to `log_path`.

        A run that `needs_launcher` (K > 1 GPUs, DeepSpeed on a GPU, P > 1 CPU processes) is started
        by its launcher; any other is forked from the server.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)
        job = Job(run_id, slot)
        if needs_launcher(slot.gpus, deepspeed, slot.procs):
            job.handle = self._launch(run_id, sweep, slot, log_path, deepspeed is not None)
        else:
            job.handle = self._ctx.Process(
                target=_child, args=(run_id, sweep, slot.env, str(log_path)), name=run_id
            )
            job.handle.start()
        return job

    @staticmethod
    def _launch(
        run_id: str, sweep: str | None, slot: Slot, log_path: Path, deepspeed: bool
    ) -> subprocess.Popen:
        # a port of its own: runs packed on one GPU (or CPU runs side by side) would otherwise all
        # take the launcher's default 29500
        cmd = launch_command(run_id, sweep, slot.gpus, deepspeed, port=free_port(), procs=slot.procs)
        env = {**os.environ, **slot.env, **launch_env(slot.gpus, deepspeed)}
        with log_path.open("ab") as log:
            return subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)

    def stop(self, job: Job, grace_s: float = 30.0) -> None:
        """SIGTERM (the run records itself interrupted), then SIGKILL after `grace_s`."""
        job.signal(signal.SIGTERM)
        deadline = time.time() + grace_s
        while job.exitcode() is None and time.time() < deadline:
            time.sleep(0.1)
        if job.exitcode() is None:
            job.signal(signal.SIGKILL)
