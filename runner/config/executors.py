"""Executor settings: one dataclass per executor, typed by `executor.name` at composition.

run: mixft config show executor=ray    |    mixft sweep smoke executor.max_parallel=2
     mixft plan smoke executor=ray executor.cpus_per_run=0    (-> one line, exit 2: checked by RayConfig)

`executor.name` says which executor runs a sweep's runs (`--executor NAME` on `mixft sweep` is the
same as the override `executor=NAME`); the conf/executor/<option>.yaml options are presets of these
settings. Each executor's implementation (runner/execute/executors/) reads its own dataclass; the
executor is left out of run ids, so moving a sweep to another executor retrains nothing. Each dataclass
checks the ranges of its own settings (`check`), when the config is composed: `mixft plan` refuses a
bad setting in one line, as `mixft sweep` does, before any executor starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from mixft.runner.config.typed import settings_class, settings_fields
from mixft.runner.errors import ConfigError


def at_least(key: str, value: float | None, low: float, strict: bool = False) -> None:
    """executor.`key` must be finite and at least `low` (above it when `strict`); None passes.

    Raises:
        ConfigError: one line naming the setting and its value.
    """
    # nan passes `value <= 0` and inf passes everything; both crash later (floor, int(), a scheduler)
    finite = isinstance(value, int) or (value is not None and math.isfinite(value))
    if value is not None and not (finite and (value > low if strict else value >= low)):
        bound = "positive (and finite)" if strict and low == 0 else f"{low:g} or more"
        raise ConfigError(f"executor.{key} must be {bound}, got {value}")


@dataclass
class ExecutorConfig:
    """What every executor has."""

    # the executor: a name in EXECUTOR_CONFIGS
    name: str = MISSING
    # GPUs each run gets; K > 1 launches a run through accelerate on K processes
    gpus_per_run: int = 1
    # per-run wall-clock limit in minutes; null: none
    timeout_min: float | None = None
    # extra attempts for a failed run
    retries: int = 0

    def check(self) -> None:
        """Ranges of the settings (their types are checked when the config is composed).

        Raises:
            ConfigError: one line naming the first setting out of range.
        """
        at_least("retries", self.retries, 0)
        at_least("gpus_per_run", self.gpus_per_run, 0)
        at_least("timeout_min", self.timeout_min, 0, strict=True)


@dataclass
class LocalConfig(ExecutorConfig):
    """This host's GPUs, or CPU workers with the cores split between them."""

    name: str = "local"
    # GPU ids to use: "all", "none" or a list such as "0-3,6"
    gpus: str = "all"
    # runs at once; null: one per device slot
    max_parallel: int | None = None
    # most runs on one GPU, placed by their memory estimates (plan/memory.py); 1: one run a GPU
    runs_per_gpu: int = 1
    # memory of each GPU in GB for packing; null: what nvidia-smi says
    gpu_memory_gb: float | None = None
    # processes each run trains on when it runs on CPU (DDP over gloo, through torchrun): the CPU
    # counterpart of gpus_per_run; the cores are split between them
    procs_per_run: int = 1

    def check(self) -> None:
        super().check()
        for key in ("max_parallel", "runs_per_gpu", "gpu_memory_gb", "procs_per_run"):
            at_least(key, getattr(self, key), 0, strict=True)


@dataclass
class SlurmConfig(ExecutorConfig):
    """A SLURM job array through submitit: one array task per run."""

    name: str = "slurm"
    # per-task wall-clock limit in minutes: before it, SLURM signals the task and it is requeued
    timeout_min: float | None = 240
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    cpus_per_task: int = 8
    mem_gb: float = 64.0
    # array tasks running at once
    array_parallelism: int = 64
    # shell lines run before each task (module load ..., source venv/bin/activate)
    setup: list[str] = field(default_factory=list)

    def check(self) -> None:
        super().check()
        for key in ("cpus_per_task", "mem_gb", "array_parallelism"):
            at_least(key, getattr(self, key), 0, strict=True)


@dataclass
class RayConfig(ExecutorConfig):
    """A Ray cluster: one Ray task per run (`pip install 'mixft[ray]'`)."""

    name: str = "ray"
    # the cluster: host:port or ray://host:10001; null: $RAY_ADDRESS, else the one `ray start` runs
    # on this host; "local": start a cluster on this host for this sweep only
    address: str | None = None
    # CPUs each run's task holds (and its threads when it has no GPU)
    cpus_per_run: float = 1.0
    # most runs that share one GPU: each task holds the share of a GPU its memory estimate needs
    # (plan/memory.py), at least 1/N; with gpus_per_run 1 only
    runs_per_gpu: int = 1
    # memory of each of the cluster's GPUs in GB for those shares; null: from its accelerator type
    gpu_memory_gb: float | None = None
    # Ray's re-runs of a task whose worker or node died (its max_retries); each resumes the run
    node_retries: int = 3
    # Ray's runtime environment of the run tasks (env_vars, working_dir, pip, ...)
    runtime_env: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        super().check()
        at_least("cpus_per_run", self.cpus_per_run, 0, strict=True)
        at_least("runs_per_gpu", self.runs_per_gpu, 1)
        at_least("gpu_memory_gb", self.gpu_memory_gb, 0, strict=True)
        at_least("node_retries", self.node_retries, 0)
        if self.runs_per_gpu > 1 and self.gpus_per_run != 1:
            raise ConfigError(
                f"executor.runs_per_gpu={self.runs_per_gpu} shares one GPU between runs: "
                f"it needs executor.gpus_per_run=1, got {self.gpus_per_run}"
            )


# name -> its settings; runner/execute/executors/ holds the implementation of each
EXECUTOR_CONFIGS: dict[str, type[ExecutorConfig]] = {
    "local": LocalConfig,
    "slurm": SlurmConfig,
    "ray": RayConfig,
}


def executor_config(name: str) -> type[ExecutorConfig]:
    """The settings dataclass of an executor (ConfigError for an unknown one, with the nearest name)."""
    return settings_class("executor", EXECUTOR_CONFIGS, name)


def executor_fields(name: str | None = None) -> list[str]:
    """Settings of one executor, or of any executor when `name` is None, in declaration order."""
    return settings_fields("executor", EXECUTOR_CONFIGS, name)
