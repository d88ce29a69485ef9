"""Run a sweep's runs as a SLURM job array through submitit.

run: mixft sweep smoke --executor slurm executor.partition=debug

Every array task runs the same entry point as a local run. Before a task's time limit (or on
preemption) SLURM signals it; submitit then calls `RunTask.checkpoint`, which requeues the task, and
the requeued task resumes the run from its last checkpoint. Live states come from `squeue` (sacct
needs accounting, which small clusters often lack); final states from the run directories.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

from mixft.runner.config.schema import ExecutorConfig
from mixft.runner.config.yamlio import load_yaml
from mixft.runner.execute.executors.local import launch_command
from mixft.runner.paths import run_dir, store_root
from mixft.runner.store.atomic import write_json

POLL_S = 5.0


class RunTask:
    """What one array task runs; picklable, with the checkpoint hook submitit calls before a requeue.

    A run on more than one GPU, or one that trains with DeepSpeed, goes through `accelerate launch`
    (as on a local host); any other runs in the task's own process.
    """

    def __init__(self, gpus_per_run: int = 1) -> None:
        self.gpus_per_run = gpus_per_run

    def __call__(self, run_id: str, sweep: str) -> int:
        from mixft.runner.execute.entry import EXIT_CLAIMED, main

        if self.launcher(run_id):
            deepspeed = uses_deepspeed(run_id)
            command = launch_command(run_id, sweep, max(1, self.gpus_per_run), deepspeed)
            code = subprocess.run(command, check=False).returncode
        else:
            code = main([run_id, "--sweep", sweep])
        if code not in (0, EXIT_CLAIMED):
            raise RuntimeError(f"run {run_id} ended with exit code {code}; see its status.json")
        return code

    def launcher(self, run_id: str) -> bool:
        """True when the run needs `accelerate launch`: K > 1 GPUs, or DeepSpeed on a GPU."""
        return self.gpus_per_run > 1 or (self.gpus_per_run > 0 and uses_deepspeed(run_id))

    def checkpoint(self, run_id: str, sweep: str) -> Any:
        """Requeue this task with the same arguments; the run resumes from its last checkpoint."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, run_id, sweep)


def uses_deepspeed(run_id: str) -> bool:
    """Whether the run's saved config trains with DeepSpeed (training.deepspeed set)."""
    config = load_yaml(run_dir(run_id) / "config.yaml") or {}
    return bool((config.get("training") or {}).get("deepspeed"))


def _parameters(cfg: ExecutorConfig) -> dict[str, Any]:
    params: dict[str, Any] = {
        "timeout_min": int(cfg.timeout_min or 240),
        "cpus_per_task": cfg.cpus_per_task,
        "mem_gb": cfg.mem_gb,
        "slurm_array_parallelism": cfg.array_parallelism,
    }
    if cfg.gpus_per_run:
        params["gpus_per_node"] = cfg.gpus_per_run
    optional = {"slurm_partition": cfg.partition, "slurm_account": cfg.account, "slurm_qos": cfg.qos}
    params |= {key: value for key, value in optional.items() if value}
    if cfg.setup:
        params["slurm_setup"] = list(cfg.setup)
    return params


def submit(sweep: str, run_ids: list[str], cfg: ExecutorConfig) -> list[str]:
    """Submit the runs as one job array; each run dir records its SLURM job id (slurm.json)."""
    import submitit

    executor = submitit.AutoExecutor(folder=str(store_root() / "slurm" / sweep / "%j"), cluster="slurm")
    executor.update_parameters(name=f"mixft-{sweep}", **_parameters(cfg))
    jobs = executor.map_array(RunTask(cfg.gpus_per_run), run_ids, [sweep] * len(run_ids))
    for rid, job in zip(run_ids, jobs, strict=True):
        write_json(run_dir(rid) / "slurm.json", {"job_id": job.job_id, "submitted": time.time()})
    return [job.job_id for job in jobs]


def queued(job_ids: list[str]) -> dict[str, str]:
    """SLURM state (PENDING, RUNNING, ...) of those jobs still in the queue."""
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T"], capture_output=True, text=True, check=False)
    states = dict(line.split(maxsplit=1) for line in out.stdout.splitlines() if " " in line)
    return {job: states[job] for job in job_ids if job in states}


def wait(job_ids: list[str], report: Callable[[str, str], None]) -> None:
    """Poll the queue until every job has left it, reporting state counts when they change."""
    last = ""
    while active := queued(job_ids):
        counts = {state: list(active.values()).count(state) for state in sorted(set(active.values()))}
        line = ", ".join(f"{n} {state.lower()}" for state, n in counts.items())
        if line != last:
            report("slurm", f"{len(active)} of {len(job_ids)} jobs in the queue: {line}")
            last = line
        time.sleep(POLL_S)
