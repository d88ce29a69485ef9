"""The Ray executor's driver loop: submits each run as a task, collects its end, watches the cluster.

run: mixft sweep smoke --executor ray executor.address=local    (ray.py connects; this drives the tasks)

The loop waits on the tasks with a timeout (POLL_S) and, between waits, asks the head's GCS port
whether it still answers (a TCP connect, so a dead head costs a refused connection, not Ray's own
60 s reconnect wait, after which Ray would end the process with its own message). A head that stays
silent for HEAD_GRACE_S ends the sweep with one line: the runs in flight stay `running` under claims
their dead processes no longer renew, which the store treats as interrupted, so the next
`mixft sweep` on a cluster that is back resumes them.

A run that fails with a ConfigError naming a setting its node cannot run (capabilities.py: fp16
without CUDA, DeepSpeed or vLLM missing, ...) stops the sweep from launching further runs that need
that setting: their tasks still queued, or started on the same node, are cancelled, and one line
names the setting and the node. They stay pending for the next `mixft sweep`.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from mixft.runner.config.executors import RayConfig
from mixft.runner.execute.entry import EXIT_CLAIMED
from mixft.runner.execute.executors.base import Report
from mixft.runner.execute.executors.ray_task import TaskSpec, passed_env, run_task
from mixft.runner.execute.states import eligible, exit_cause, held_by, last_error, record_state
from mixft.runner.paths import run_dir, store_root, training_dir
from mixft.runner.plan.grid import Plan
from mixft.runner.store import faults, rundir
from mixft.runner.store.status import read_status

POLL_S = 1.0  # longest wait for a task's end between looks at the cluster, s
PROBE_S = 2.0  # a TCP connect to the head's GCS port that takes longer counts as no answer, s
# how long the head may stay silent before the sweep ends (a GCS that restarts, as with KubeRay's
# GCS fault tolerance, comes back sooner; Ray itself ends its drivers after 60 s), s
HEAD_GRACE_S = 15.0


def head_address(ray: Any, address: str) -> str:
    """HOST:PORT of the head this driver talks to: the Ray client server of a ray:// address, else the GCS."""
    if address.startswith("ray://"):
        return address.removeprefix("ray://")
    return str(ray.get_runtime_context().gcs_address)


def answers(address: str, timeout_s: float = PROBE_S) -> bool:
    """Whether something accepts TCP connections at HOST:PORT within `timeout_s` seconds."""
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except (OSError, ValueError):
        return False
    return True


def head_lost_line(address: str, left: int) -> str:
    """The one line a sweep ends with when its cluster's head is gone."""
    return (
        f"the Ray cluster at {address} is gone (head lost): {left} runs left to resume; "
        "run the sweep again when the cluster is back"
    )


class Driver:
    """Submits runs as tasks, collects their ends, resubmits failed runs with retries left."""

    def __init__(
        self,
        ray: Any,
        plan: Plan,
        cfg: RayConfig,
        gpus: float,
        report: Report,
        head: str,
        shares: dict[str, float] | None = None,
    ) -> None:
        self.ray, self.plan, self.cfg, self.gpus, self.report = ray, plan, cfg, gpus, report
        # run id -> its share of a GPU, by memory (ray.py's gpu_shares); else `gpus` each
        self.shares = shares or {}
        self.head = head  # HOST:PORT the head answers on
        self.silent_since: float | None = None  # when the head last stopped answering
        self.lost = False
        self.remote = ray.remote(run_task)
        self.resources = {"num_cpus": cfg.cpus_per_run, "num_gpus": gpus}
        self.retries = {"max_retries": cfg.node_retries, "retry_exceptions": False}
        self.env = passed_env(str(store_root().absolute()))
        self.by_id = {run.id: run for run in plan.runs}
        self.refs: dict[Any, str] = {}
        self.waiting: set[str] = set()
        self.stopping = False
        self.nodes = self.alive_nodes()
        self.blocked: dict[str, str] = {}  # setting -> the node a run failed on for want of it
        self.held: set[str] = set()  # runs not launched (or stopped) because they need a blocked setting

    def alive_nodes(self) -> dict[str, str]:
        """The cluster's live nodes: id -> address."""
        return {n["NodeID"]: n.get("NodeManagerAddress", "?") for n in self.ray.nodes() if n.get("Alive")}

    def watch_nodes(self) -> None:
        """Report nodes that left the cluster, once each (Ray re-runs their tasks elsewhere)."""
        now = self.alive_nodes()
        for node, address in self.nodes.items():
            if node not in now:
                self.report("node lost", f"{address} ({node[:8]}): its runs resume on another node")
        self.nodes = now

    def submit(self, rid: str) -> None:
        held = held_by(rid)
        if held is not None:  # another sweep, or a run process left from a killed one
            self.waiting.add(rid)
            self.report("waiting", f"{rid} is being run by {held}")
            return
        if not eligible(rid, self.cfg.retries):
            return
        if any(setting in self.blocked for setting in self.needs(rid)):
            self.held.add(rid)
            return
        cfg, run = self.cfg, self.by_id[rid]
        gpus = math.ceil(self.gpus)  # the GPUs a run sees: the one it shares, or its own
        deepspeed = run.config.training.deepspeed
        spec = TaskSpec(rid, self.plan.sweep, self.env, gpus, cfg.cpus_per_run, cfg.timeout_min, deepspeed)
        resources = {**self.resources, "num_gpus": self.shares.get(rid, self.gpus)}
        ref = self.remote.options(name=f"mixft-{rid}", **resources, **self.retries).remote(spec)
        self.refs[ref] = rid
        driver = {"host": socket.gethostname(), "pid": os.getpid()}
        rundir.write_ray_task(run_dir(rid), task=ref.task_id().hex(), state="PENDING", driver=driver)
        self.report(
            "queued", f"{rid} as a Ray task ({cfg.cpus_per_run:g} CPU, {resources['num_gpus']:g} GPU)"
        )

    def outcome(self, ref: Any) -> tuple[int | None, str]:
        """The run entry's exit code, or None and why the task did not end by itself."""
        exceptions = self.ray.exceptions
        try:
            return int(self.ray.get(ref)), ""
        except exceptions.TaskCancelledError:
            return None, "its Ray task was cancelled"
        except (exceptions.RayTaskError, exceptions.RuntimeEnvSetupError) as exc:
            return 1, str(exc).strip().splitlines()[-1]
        except exceptions.RayError as exc:  # the worker or node died, more often than node_retries
            return None, f"its Ray worker or node was lost ({type(exc).__name__})"

    def finish(self, ref: Any) -> None:
        rid = self.refs.pop(ref)
        code, why = self.outcome(ref)
        rundir.write_ray_task(run_dir(rid), state="ENDED")
        state = read_status(run_dir(rid))["state"]
        if code is None and rid in self.held:  # cancelled: it needs a setting its node cannot run
            if state == "running":
                record_state(
                    rid, "interrupted", "stopped: it needs a setting a node of the cluster cannot run"
                )
            return
        self.held.discard(rid)
        if code == EXIT_CLAIMED or (code is None and held_by(rid) is not None):
            self.waiting.add(rid)  # another process holds it (a run process its lost node left)
            return
        if code is None:
            if state == "running":
                record_state(rid, "interrupted", why)
            self.report("interrupted", f"{rid}: {why}; the next `mixft sweep` resumes it")
            return
        state, line, unrecorded = self.ended(rid, code, why, state)
        if state == "interrupted":
            self.report(state, f"{rid}: {line}; the next `mixft sweep` resumes it")
            return
        self.report(state, rid + (f": {line}" if state == "failed" else ""))
        if state == "failed" and not unrecorded:
            self.hold_back(rid)
        retry = state == "failed" and not unrecorded and not self.stopping
        if retry and eligible(rid, self.cfg.retries):
            self.submit(rid)

    def ended(self, rid: str, code: int, why: str, state: str) -> tuple[str, str, str | None]:
        """The state a run's task left, its error line, and why that was not recorded (or None).

        A run process that recorded no end (the kernel's OOM kill, a disk too full for its status, a
        crash) is classified from this attempt's run.log and its exit code (states.exit_cause): a
        fault of the machine is interrupted and resumes on the next sweep, any other end failed.
        """
        if state == "running":
            cause = faults.classify(why) if why else exit_cause(rid, code)
            state = "interrupted" if cause.resumable else "failed"
            unrecorded = record_state(rid, state, cause.line, cause.line)
            return state, cause.line + (f"; {unrecorded}" if unrecorded else ""), unrecorded
        if state == "pending" and code != 0:  # ended before it started: the task could not run it
            line = why or f"the run process exited with code {code} (see its run.log)"
            return "failed", line, line
        return state, last_error(rid) if state in ("failed", "interrupted") else "", None

    def needs(self, rid: str) -> list[str]:
        """The settings the run needs of its node (capabilities.py)."""
        from mixft.runner.execute.capabilities import needs
        from mixft.runner.execute.work import needs_training

        config = self.by_id[rid].config
        return needs(config, needs_training(config, training_dir(rid)))

    def hold_back(self, rid: str) -> None:
        """After `rid` failed for want of a setting on its node: launch no more runs that need it."""
        from mixft.runner.execute.capabilities import blocked

        setting = blocked(self.by_id[rid], last_error(rid))
        if setting is None or setting in self.blocked:
            return
        where = rundir.read_ray_task(run_dir(rid)) or {}
        self.blocked[setting] = host = str(where.get("node") or "its node")
        stopped = 0
        for ref, other in list(self.refs.items()):
            task = rundir.read_ray_task(run_dir(other)) or {}
            here = task.get("state") == "RUNNING" and task.get("node_id") == where.get("node_id")
            if setting in self.needs(other) and (task.get("state") == "PENDING" or here):
                self.held.add(other)
                self.ray.cancel(ref, force=False)
                stopped += 1
        self.report(
            "held back",
            f"{setting} cannot run on node {host} (run {rid} failed for want of it): "
            f"{stopped} more run(s) that need it are not launched; they stay pending for the next "
            "`mixft sweep`",
        )

    def stop(self, force: bool) -> None:
        """Submit nothing more; cancel the tasks (a running run records itself interrupted)."""
        self.stopping = True
        for ref in list(self.refs):
            self.ray.cancel(ref, force=force)

    def head_answers(self) -> bool:
        """Whether the head answers now; marks the cluster lost once it has been silent HEAD_GRACE_S."""
        if answers(self.head):
            self.silent_since = None
            return True
        now = time.time()
        self.silent_since = self.silent_since or now
        self.lost = now - self.silent_since >= HEAD_GRACE_S
        return False

    def abandon(self) -> None:
        """End the sweep on a lost head: its tasks' runs are left to the next sweep to resume."""
        for rid in self.refs.values():
            rundir.write_ray_task(run_dir(rid), state="LOST")
        # a task may have ended with the head, its end never reported: ask the store
        ours = set(self.refs.values()) | self.waiting
        left = [rid for rid in ours if read_status(run_dir(rid))["state"] != "done"]
        self.refs, self.waiting = {}, set()
        self.report("lost", head_lost_line(self.head, len(left)))

    def run(self, queue: list[str], tick: Callable[[], None]) -> None:
        """Submit `queue` and wait until every task has ended and no run is held elsewhere."""
        for rid in queue:
            self.submit(rid)
        while self.refs or (self.waiting and not self.stopping):
            ready, _ = (
                self.ray.wait(list(self.refs), num_returns=1, timeout=POLL_S) if self.refs else ([], [])
            )
            for ref in ready:
                self.finish(ref)
            if self.head_answers():  # asking a silent head for its nodes would block
                self.watch_nodes()
            elif self.lost:
                self.abandon()
                return
            if not self.refs:
                time.sleep(POLL_S)
            for rid in list(self.waiting):
                if not self.stopping and held_by(rid) is None:
                    self.waiting.discard(rid)
                    self.submit(rid)
            tick()
