"""Ctrl-C while an executor runs a sweep: the first press stops starting runs (those running finish or
record themselves interrupted), the second kills the running ones. One owner for every executor.

run: mixft sweep smoke    (then Ctrl-C once: the sweep stops starting runs; twice: it kills them)
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import TracebackType
from typing import Any

from mixft.runner.execute.executors.base import Report


class CtrlC:
    """While in its `with` block, SIGINT calls `stop(kill)`: kill is False on the first press, True
    after; each press is reported. `pressed` says afterwards whether a person stopped the sweep."""

    def __init__(self, report: Report, stop: Callable[[bool], None]) -> None:
        self.report, self.stop = report, stop
        self.presses = 0
        self.previous: Any = None

    @property
    def pressed(self) -> bool:
        """True when Ctrl-C was pressed at least once."""
        return self.presses > 0

    def on_sigint(self, signum: int, frame: Any) -> None:
        self.presses += 1
        self.report("stopping", "Ctrl-C again to kill" if self.presses == 1 else "killing running runs")
        self.stop(self.presses > 1)

    def __enter__(self) -> CtrlC:
        self.previous = signal.signal(signal.SIGINT, self.on_sigint)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        signal.signal(signal.SIGINT, self.previous)
