"""The executor interface: where a sweep's runs execute. The store decides what is done; an executor
only starts runs, waits for them, and says what it knows of the ones it has in flight.

run: mixft sweep smoke    |    mixft sweep smoke --executor slurm    |    mixft status smoke
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from mixft.runner.config.executors import ExecutorConfig
from mixft.runner.plan.grid import Plan, PlannedRun

# called with (event, text) as runs start and end: "start", "done", "failed", "stopping", ...
Report = Callable[[str, str], None]


class Executor(ABC):
    """Runs a sweep's runs somewhere, each through the same run entry point (execute/entry.py).

    Subclasses set `name` (the key of their settings in config/executors.py) and implement `where`
    and `run`; `live_states` is for executors that know more than the store while runs are in flight.
    """

    name: ClassVar[str]

    def __init__(self, settings: ExecutorConfig) -> None:
        self.settings = settings

    @abstractmethod
    def where(self) -> str:
        """Where runs would go, in a few words ("2 slot(s) (cpu0, cpu1)", "SLURM partition gpu")."""

    @abstractmethod
    def run(self, plan: Plan, queue: list[PlannedRun], report: Report, tick: Callable[[], None]) -> bool:
        """Run `queue` (longest first, every run eligible) until each is done, failed or left to resume.

        Args:
            plan: The whole sweep (its name, and every run's config).
            queue: The runs to start, in order.
            report: Called with (event, text) as runs start and end.
            tick: Called while waiting (a live display refreshes there).

        Returns:
            True when a person stopped the sweep (Ctrl-C), else False.
        """

    def layout(self, queue: list[PlannedRun]) -> list[str]:
        """Lines that say where the first runs of `queue` would go (`mixft sweep --dry-run`);
        default: none (the executor places nothing itself)."""
        return []

    @classmethod
    def live_states(cls, rows: list[dict[str, Any]]) -> None:
        """Set `row["live"]` of the status rows whose runs this executor has in flight.

        The store already says what a local run does (its claim's holder); executors that hand runs
        to a queue say what the queue knows. Default: nothing to add.
        """
        return None
