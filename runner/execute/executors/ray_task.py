"""What one Ray task does on the node Ray placed it on: run one run's entry in a process of its own.

run: mixft sweep smoke --executor ray executor.address=local    (each run is one task like this)

The task takes the sweep's store and project folders from the driver (the node's own environment is
the one `ray start` had), sees only the GPUs Ray assigned it (CUDA_VISIBLE_DEVICES), and starts the
same run entry as a local run: `python -m mixft.runner.execute.entry`, or `accelerate launch` on its
own main process port for K > 1 GPUs. The run process dies with the task's worker (a lost node takes
both), so a re-run of the task on another node finds the claim free and resumes from the checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from mixft.runner.execute.launch import ENTRY, entry_args, launch_command, needs_launcher
from mixft.runner.execute.states import record_state
from mixft.runner.paths import run_dir
from mixft.runner.store import rundir

# the driver's environment that a run needs wherever it runs: the store, project folders, offline
# switches, Hugging Face and W&B settings (and their tokens, which live in the environment only)
PASSED_PREFIXES = ("MIXFT_", "HF_", "HUGGING_FACE_", "WANDB_", "TRANSFORMERS_", "TOKENIZERS_")
STOP_GRACE_S = 30.0  # SIGTERM lets a run record itself interrupted; SIGKILL after this
POLL_S = 1.0  # how often the task looks at its run process (a cancel is seen between looks)
# runs a command so that it dies with the process that started it (argv: that pid, the command):
# prctl(PR_SET_PDEATHSIG, SIGKILL) on Linux, then exec; a parent gone already ends it at once
WITH_PARENT = (
    "import ctypes, os, sys; prctl = getattr(ctypes.CDLL(None), 'prctl', None); "
    "prctl and prctl(1, 9); os.getppid() == int(sys.argv[1]) or sys.exit(137); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


@dataclass
class TaskSpec:
    """What the driver tells a run's task (picklable: it travels with the task)."""

    run_id: str
    sweep: str
    env: dict[str, str] = field(default_factory=dict)
    gpus: int = 0
    cpus: float = 1.0
    timeout_min: float | None = None
    deepspeed: str | None = None


def passed_env(store: str) -> dict[str, str]:
    """The driver's variables a run task needs, with MIXFT_HOME as an absolute `store`."""
    env = {key: value for key, value in os.environ.items() if key.startswith(PASSED_PREFIXES)}
    return {**env, "MIXFT_HOME": store}


def free_port() -> int:
    """A TCP port free on this node now: a run's accelerate main process listens there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def run_env(spec: TaskSpec, gpu_ids: list[str]) -> dict[str, str]:
    """The run process's environment: the node's, the driver's store and settings, Ray's GPUs."""
    env = {**os.environ, **spec.env, "CUDA_VISIBLE_DEVICES": ",".join(gpu_ids)}
    if not gpu_ids:  # a CPU run: as many threads as CPUs the task holds
        threads = str(max(1, int(spec.cpus)))
        env |= {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    return env


def command(spec: TaskSpec, gpus: int) -> list[str]:
    """The run entry, through `accelerate launch` on a free port when the run needs a launcher."""
    if needs_launcher(gpus, spec.deepspeed):
        return launch_command(spec.run_id, spec.sweep, max(1, gpus), spec.deepspeed is not None, free_port())
    return [sys.executable, "-m", ENTRY, *entry_args(spec.run_id, spec.sweep)]


def with_parent(cmd: list[str]) -> list[str]:
    """`cmd` started so that it is killed when this process (the task's worker) dies."""
    return [sys.executable, "-c", WITH_PARENT, str(os.getpid()), *cmd]


def wait(proc: subprocess.Popen, timeout_s: float | None) -> int:
    """The process's exit code; raises subprocess.TimeoutExpired after `timeout_s`."""
    deadline = None if timeout_s is None else time.time() + timeout_s
    while (code := proc.poll()) is None:
        if deadline is not None and time.time() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout_s or 0)
        time.sleep(POLL_S)
    return code


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the run's process group (it records itself interrupted), SIGKILL after a grace."""
    for signum, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)
            return


@contextlib.contextmanager
def held_off() -> Iterator[list[int]]:
    """Hold off a cancel (ray.cancel raises KeyboardInterrupt through the SIGINT handler) while the run
    process starts: one raised inside Popen would leave the process running with no task to stop it.
    Yields a list that holds the signal when one came."""
    came: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    except ValueError:  # not the main thread: nothing to hold off
        yield came
        return
    try:
        yield came
    finally:
        signal.signal(signal.SIGINT, previous)


def run_task(spec: TaskSpec) -> int:
    """Body of a run's Ray task: the run entry's exit code (0 done, 1 failed, 3 claimed elsewhere).

    A timed-out run is stopped and recorded failed; a cancelled task (Ctrl-C on the driver) stops
    its run, which records itself interrupted, and re-raises.
    """
    import ray

    os.environ.update(spec.env)  # this worker's store paths are the driver's
    gpu_ids = [str(gpu) for gpu in ray.get_gpu_ids()]
    folder = run_dir(spec.run_id)
    context = ray.get_runtime_context()
    rundir.write_ray_task(
        folder, state="RUNNING", node=ray.util.get_node_ip_address(), node_id=context.get_node_id()
    )
    started, proc = time.time(), None
    try:
        with rundir.run_log(folder).open("ab") as log, held_off() as cancelled:
            proc = subprocess.Popen(
                with_parent(command(spec, len(gpu_ids))),
                env=run_env(spec, gpu_ids),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a stop reaches accelerate's workers too
            )
        if cancelled:
            raise KeyboardInterrupt  # the cancel that came while the process started
        return wait(proc, spec.timeout_min * 60 if spec.timeout_min else None)
    except subprocess.TimeoutExpired:
        stop(proc)
        record_state(spec.run_id, "failed", f"timed out after {spec.timeout_min:g} min")
        return 1
    except BaseException:  # ray.cancel raises KeyboardInterrupt here
        if proc is not None:
            stop(proc)
        raise
    finally:
        rundir.write_ray_task(folder, state="ENDED", seconds=round(time.time() - started, 1))
