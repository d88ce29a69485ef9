"""tracker=none: results stay in the local store only; every call does nothing.

run: mixft sweep smoke tracker=none    (the default)
"""

from __future__ import annotations

from pathlib import Path

from mixft.runner.config.schema import Config
from mixft.runner.tracking.base import RunTracking, Tracker


class NoTracker(Tracker):
    """No tracking: callers get do-nothing objects and never branch on the tracker."""

    name = "none"

    def run(self, cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> RunTracking:
        return RunTracking()
