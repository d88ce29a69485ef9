"""The Ray executor: each run is one Ray task on a cluster the sweep connects to (or starts here).

run: mixft sweep smoke --executor ray executor.address=local    |    RAY_ADDRESS=head:6379 mixft sweep smoke --executor ray

The driver (`mixft sweep`) connects to `executor.address`, else $RAY_ADDRESS, else the cluster that
`ray start` runs on this host; `address: local` starts a cluster on this host for the sweep only.
Every run becomes a task holding `cpus_per_run` CPUs and `gpus_per_run` GPUs; when runs share GPUs
(`runs_per_gpu` N > 1) each holds the share of one its memory estimate needs (packing.py's
`gpu_fraction`: budget over the GPU's memory, at least 1/N), so Ray places them by memory; the task runs the run entry in a process of its own (ray_task.py). The
store, on a file system every node sees, stays the truth: a task whose node is lost is re-run by Ray
(`node_retries`) and resumes from the run's checkpoint, the run's claim keeping it to one process; a
run still lost after those is left interrupted, and a lost head ends the sweep with one line
(ray_driver.py): the next `mixft sweep` resumes both. Each run folder's ray.json says which task
runs it; `mixft status` shows its state.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from mixft.runner.config.executors import RayConfig
from mixft.runner.errors import ConfigError
from mixft.runner.execute.executors.base import Executor, Report
from mixft.runner.execute.executors.interrupt import CtrlC
from mixft.runner.execute.executors.packing import gpu_fraction, run_needs
from mixft.runner.execute.executors.ray_driver import Driver, head_address, head_lost_line
from mixft.runner.paths import run_dir
from mixft.runner.plan.grid import Plan, PlannedRun
from mixft.runner.plan.hardware import gpu_memory_gb
from mixft.runner.store import rundir

LIVE = ("PENDING", "RUNNING")  # ray.json states of a task in flight


INSTALL = "executor ray needs Ray on this machine: pip install 'mixft[ray]'"


def import_ray() -> Any:
    """The ray module; a one-line ConfigError when it is not installed."""
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL) from None
    return ray


def cluster_address(cfg: RayConfig) -> str:
    """The cluster the settings name: executor.address, else $RAY_ADDRESS, else "auto" (this host's)."""
    return cfg.address or os.environ.get("RAY_ADDRESS") or "auto"


def task_gpus(cfg: RayConfig, cluster_gpus: float, local: bool) -> tuple[float, str | None]:
    """GPUs each run's task holds, and a note when the cluster has none.

    A cluster started here (`address: local`) on a host without GPUs runs on CPUs; a cluster it
    connects to may add GPU nodes later (an autoscaler), so its runs wait for them.
    """
    if cfg.gpus_per_run == 0:
        return 0.0, None
    if not cluster_gpus:
        if local:
            return 0.0, "this host has no GPU: runs use CPUs only"
        return cfg.gpus_per_run, (
            "the cluster has no GPU now: runs wait for GPU nodes (executor.gpus_per_run=0 runs on CPUs)"
        )
    return (1 / cfg.runs_per_gpu if cfg.gpus_per_run == 1 else float(cfg.gpus_per_run)), None


def cluster_gpu_memory(cfg: RayConfig, resources: dict[str, float]) -> float | None:
    """Bytes of memory of the cluster's GPUs: executor.gpu_memory_gb, else the least of the
    accelerator types Ray reports (`accelerator_type:H100`) that plan/hardware.py knows; else None."""
    if cfg.gpu_memory_gb is not None:
        return cfg.gpu_memory_gb * 1e9
    sizes = [  # "A100-40G" is 40 GB; a bare "A100" (Ray's label for both boards) the smaller one
        size * 1e9
        for key in resources
        if key.startswith("accelerator_type:") and (size := gpu_memory_gb(key.partition(":")[2])) is not None
    ]
    return min(sizes) if sizes else None


def gpu_shares(
    cfg: RayConfig, queue: list[PlannedRun], gpus: float, resources: dict[str, float]
) -> dict[str, float]:
    """Each run's share of a GPU when runs share GPUs (packing.py's `gpu_fraction`); else none."""
    if not 0 < gpus < 1:
        return {}
    memory = cluster_gpu_memory(cfg, resources)
    return {
        rid: gpu_fraction(need.budget, memory, cfg.runs_per_gpu) for rid, need in run_needs(queue).items()
    }


def connect(ray: Any, cfg: RayConfig) -> None:
    """ray.init on the cluster the settings name; a one-line ConfigError when there is none."""
    address = cluster_address(cfg)
    options: dict[str, Any] = {"include_dashboard": False} if address == "local" else {}
    try:
        ray.init(
            address=address,
            namespace="mixft",
            runtime_env=dict(cfg.runtime_env) or None,
            logging_level=logging.ERROR,
            log_to_driver=False,  # a run's output goes to its run.log
            **options,
        )
    except ConnectionError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"no Ray cluster at {address} ({reason}): start one (`ray start --head`), set RAY_ADDRESS or "
            "executor.address, or use executor.address=local"
        ) from None


class RayExecutor(Executor):
    """Runs on a Ray cluster (settings: config/executors.py's RayConfig)."""

    name = "ray"
    settings: RayConfig

    def __init__(self, settings: RayConfig) -> None:
        super().__init__(settings)  # its ranges were checked with the config (RayConfig.check)
        import_ray()

    def where(self) -> str:
        s = self.settings
        gpus = f"1/{s.runs_per_gpu}" if s.runs_per_gpu > 1 else str(s.gpus_per_run)
        return f"Ray cluster {cluster_address(s)} ({s.cpus_per_run:g} CPU, {gpus} GPU per run)"

    def run(self, plan: Plan, queue: list[PlannedRun], report: Report, tick: Callable[[], None]) -> bool:
        ray = import_ray()
        connect(ray, self.settings)
        address = cluster_address(self.settings)
        head, driver = head_address(ray, address), None
        ctrl_c = CtrlC(report, lambda kill: driver.stop(force=kill) if driver else None)
        try:
            resources = ray.cluster_resources()
            gpus, note = task_gpus(self.settings, resources.get("GPU", 0), address == "local")
            if note:
                report("ray", note)
            shares = gpu_shares(self.settings, queue, gpus, resources)
            driver = Driver(ray, plan, self.settings, gpus, report, head, shares)
            with ctrl_c:
                driver.run([run.id for run in queue], tick)
        except (ray.exceptions.RaySystemError, ConnectionError):  # a Ray call saw the head go first
            report("lost", head_lost_line(head, len(set(driver.refs.values())) if driver else len(queue)))
        except BaseException:
            ray.shutdown()
            raise
        ray.shutdown()
        return ctrl_c.pressed

    @classmethod
    def live_states(cls, rows: list[dict[str, Any]]) -> None:
        """Each run's Ray task state (PENDING, RUNNING) while the sweep that submitted it runs."""
        for row in rows:
            record = rundir.read_ray_task(run_dir(row["id"])) if row["state"] != "done" else None
            if record and record.get("state") in LIVE and driver_alive(record.get("driver") or {}):
                row["live"] = {
                    "executor": cls.name,
                    "state": record["state"],
                    "task": record.get("task"),
                    "node": record.get("node"),
                }


def driver_alive(driver: dict[str, Any]) -> bool:
    """False when the driver that submitted a task ran on this host and has exited."""
    if driver.get("host") != socket.gethostname():
        return True  # another host's driver: its tasks' records are all there is
    try:
        pid = int(driver.get("pid", 0))
        if pid > 0:
            os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True
    return True
