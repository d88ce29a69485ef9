"""Executors: where a sweep's runs execute, behind one interface (base.py).

run: mixft sweep smoke --executor local|slurm|ray    (the same as the override executor=local|slurm|ray)

Adding an executor: a module here with an `Executor` subclass, its settings dataclass in
config/executors.py (EXECUTOR_CONFIGS), a conf/executor/<name>.yaml preset, and one line in EXECUTORS.
"""

from __future__ import annotations

from mixft.runner.config.executors import ExecutorConfig
from mixft.runner.errors import unknown
from mixft.runner.execute.executors.base import Executor
from mixft.runner.execute.executors.local import LocalExecutor
from mixft.runner.execute.executors.ray import RayExecutor
from mixft.runner.execute.executors.slurm import SlurmExecutor

EXECUTORS: dict[str, type[Executor]] = {cls.name: cls for cls in (LocalExecutor, SlurmExecutor, RayExecutor)}


def executor_for(settings: ExecutorConfig) -> Executor:
    """The executor that `settings.name` names, with its settings.

    Raises:
        ConfigError: no executor of that name is registered.
    """
    if settings.name not in EXECUTORS:
        raise unknown("executor", settings.name, EXECUTORS)
    return EXECUTORS[settings.name](settings)
