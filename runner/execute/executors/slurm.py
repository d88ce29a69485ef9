"""The SLURM executor: a sweep's runs as one job array through submitit.

run: mixft sweep smoke --executor slurm executor.partition=debug

Every array task runs the same entry point as a local run. Before a task's time limit (or on
preemption) SLURM signals it; submitit then calls `RunTask.checkpoint`, which requeues the task, and
the requeued task resumes the run from its last checkpoint. Live states come from `squeue` (sacct
needs accounting, which small clusters often lack); final states from the run directories. Runs
claimed by a live process elsewhere are left to it; failed runs are retried by the next
`mixft sweep` while they have retries left. A run that fails with a ConfigError naming a setting its
node cannot run (capabilities.py) stops the sweep from launching the runs that need it: their array
tasks still pending, or running on the same node, are cancelled, with one line naming the setting and
the node; those runs stay pending for the next `mixft sweep`.
"""

from __future__ import annotations

import math
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

from mixft.runner.config.executors import SlurmConfig
from mixft.runner.execute.executors.base import Executor, Report
from mixft.runner.execute.launch import entry_args, launch_command, needs_launcher
from mixft.runner.execute.states import held_by, last_error
from mixft.runner.paths import run_dir, slurm_dir, training_dir
from mixft.runner.plan.grid import Plan, PlannedRun
from mixft.runner.store import rundir
from mixft.runner.store.status import read_status

POLL_S = 5.0


class RunTask:
    """What one array task runs; picklable, with the checkpoint hook submitit calls before a requeue.

    A run that `needs_launcher` goes through `accelerate launch` (as on a local host); any other runs
    in the task's own process.
    """

    def __init__(self, gpus_per_run: int = 1) -> None:
        self.gpus_per_run = gpus_per_run

    def __call__(self, run_id: str, sweep: str) -> int:
        from mixft.runner.execute.entry import EXIT_CLAIMED, main

        rundir.note_slurm_node(run_dir(run_id), socket.gethostname())
        deepspeed = saved_deepspeed(run_id)
        if needs_launcher(self.gpus_per_run, deepspeed):
            command = launch_command(run_id, sweep, max(1, self.gpus_per_run), deepspeed is not None)
            code = subprocess.run(command, check=False).returncode
        else:
            code = main(entry_args(run_id, sweep))
        if code not in (0, EXIT_CLAIMED):
            raise RuntimeError(f"run {run_id} ended with exit code {code}; see its status.json")
        return code

    def launcher(self, run_id: str) -> bool:
        """True when the run needs `accelerate launch` (see execute/launch.py)."""
        return needs_launcher(self.gpus_per_run, saved_deepspeed(run_id))

    def checkpoint(self, run_id: str, sweep: str) -> Any:
        """Requeue this task with the same arguments; the run resumes from its last checkpoint."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, run_id, sweep)


def saved_deepspeed(run_id: str) -> str | None:
    """training.deepspeed of the run's saved config (the task reads it where the run executes)."""
    training = rundir.read_config(run_dir(run_id)).get("training") or {}
    return training.get("deepspeed")


def parameters(cfg: SlurmConfig) -> dict[str, Any]:
    """submitit's parameters of the job array."""
    params: dict[str, Any] = {
        "timeout_min": math.ceil(cfg.timeout_min or 240),  # SLURM counts whole minutes
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


def submit(sweep: str, run_ids: list[str], cfg: SlurmConfig) -> list[str]:
    """Submit the runs as one job array; each run dir records its SLURM job id (slurm.json)."""
    import submitit

    executor = submitit.AutoExecutor(folder=str(slurm_dir(sweep) / "%j"), cluster="slurm")
    executor.update_parameters(name=f"mixft-{sweep}", **parameters(cfg))
    jobs = executor.map_array(RunTask(cfg.gpus_per_run), run_ids, [sweep] * len(run_ids))
    for rid, job in zip(run_ids, jobs, strict=True):
        rundir.write_slurm_job(run_dir(rid), job.job_id)
    return [job.job_id for job in jobs]


def queued(job_ids: list[str], nodes: dict[str, str] | None = None) -> dict[str, str]:
    """SLURM state (PENDING, RUNNING, ...) of those jobs still in the queue; `nodes`, when given, gets
    the node each running job is on."""
    out = subprocess.run(
        ["squeue", "-h", "-r", "-o", "%i %T %N"], capture_output=True, text=True, check=False
    )
    rows = {fields[0]: fields[1:] for line in out.stdout.splitlines() if len(fields := line.split()) >= 2}
    if nodes is not None:
        nodes.update({job: row[1] for job, row in rows.items() if job in job_ids and len(row) > 1})
    return {job: rows[job][0] for job in job_ids if job in rows}


class HoldBack:
    """Stops the array tasks of runs that need a setting a node could not run (capabilities.py)."""

    def __init__(self, plan: Plan, jobs: dict[str, str], report: Report) -> None:
        self.by_id = {run.id: run for run in plan.runs}
        self.jobs, self.report = jobs, report  # run id -> its array task's job id
        self.blocked: dict[str, str] = {}  # setting -> the node a run failed on for want of it
        self.seen: set[str] = set()

    def needs(self, rid: str) -> list[str]:
        from mixft.runner.execute.capabilities import needs
        from mixft.runner.execute.work import needs_training

        config = self.by_id[rid].config
        return needs(config, needs_training(config, training_dir(rid)))

    def check(self, active: dict[str, str], nodes: dict[str, str]) -> None:
        """Look at the runs whose tasks have left the queue; hold back the siblings of one that
        failed for want of a setting (`active`: job -> state; `nodes`: job -> node)."""
        from mixft.runner.execute.capabilities import blocked

        for rid, job in self.jobs.items():
            if rid in self.seen or job in active:
                continue
            state = read_status(run_dir(rid))["state"]
            if state == "pending":  # not in squeue yet, or held back: look again later
                continue
            self.seen.add(rid)
            setting = blocked(self.by_id[rid], last_error(rid)) if state == "failed" else None
            if setting is None or setting in self.blocked:
                continue
            node = rundir.read_slurm_node(run_dir(rid)) or nodes.get(job) or "its node"
            self.blocked[setting] = node
            short = node.split(".")[0]  # squeue names nodes by their short host name
            stop = [
                other_job
                for other, other_job in self.jobs.items()
                if (
                    active.get(other_job) == "PENDING"
                    or (
                        active.get(other_job) == "RUNNING" and nodes.get(other_job, "").split(".")[0] == short
                    )
                )
                and setting in self.needs(other)
            ]
            if stop:
                subprocess.run(["scancel", *stop], capture_output=True, check=False)
            self.report(
                "held back",
                f"{setting} cannot run on node {node} (run {rid} failed for want of it): {len(stop)} more run(s) "
                "that need it are not launched; they stay pending for the next `mixft sweep`",
            )


def wait(job_ids: list[str], report: Callable[[str, str], None], hold: HoldBack | None = None) -> None:
    """Poll the queue until every job has left it, reporting state counts when they change, and let
    `hold` stop the tasks of runs that need a setting a node could not run."""
    last, nodes = "", {}
    while active := queued(job_ids, nodes):
        if hold is not None:
            hold.check(active, nodes)
        counts = {state: list(active.values()).count(state) for state in sorted(set(active.values()))}
        line = ", ".join(f"{n} {state.lower()}" for state, n in counts.items())
        if line != last:
            report("slurm", f"{len(active)} of {len(job_ids)} jobs in the queue: {line}")
            last = line
        time.sleep(POLL_S)


class SlurmExecutor(Executor):
    """Submits runs as a job array (settings: config/executors.py's SlurmConfig) and waits for it."""

    name = "slurm"
    settings: SlurmConfig

    def where(self) -> str:
        return "SLURM" + (f" partition {self.settings.partition}" if self.settings.partition else "")

    def run(self, plan: Plan, queue: list[PlannedRun], report: Report, tick: Callable[[], None]) -> bool:
        todo = [run.id for run in queue if held_by(run.id) is None]
        if todo:
            jobs = submit(plan.sweep, todo, self.settings)
            report("submitted", f"{len(jobs)} runs as SLURM job array {jobs[0].split('_')[0]}")
            wait(jobs, report, HoldBack(plan, dict(zip(todo, jobs, strict=True)), report))
        return False

    @classmethod
    def live_states(cls, rows: list[dict[str, Any]]) -> None:
        """Each submitted run's queue state (PENDING, RUNNING, ...) from one squeue call."""
        jobs = {}
        for row in rows:
            job = rundir.read_slurm_job(run_dir(row["id"])) if row["state"] != "done" else None
            if job is not None:
                jobs[job] = row
        if jobs:
            for job, state in queued(list(jobs)).items():
                jobs[job]["live"] = {"executor": cls.name, "state": state, "job": job}
