"""A run's tracking, as the run entry point asks for it: the tracker its config names.

run: mixft sweep smoke tracker=wandb    (offline without credentials; upload later with `mixft sync`)

Tracking never costs local results: every tracker guards its calls, and a failure is one warning.
"""

from __future__ import annotations

from pathlib import Path

from mixft.runner.config.schema import Config
from mixft.runner.tracking import tracker_for
from mixft.runner.tracking.base import RunTracking
from mixft.runner.tracking.config import tracking_config

__all__ = ["make_tracker", "tracking_config"]


def make_tracker(cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> RunTracking:
    """The tracking of one run: the tracker `cfg.tracker` names (a do-nothing one for tracker=none;
    only the main process of a multi-GPU run tracks it: see execute/entry.py).

    Args:
        cfg: The resolved run config; `cfg.tracker` picks the tracker and its settings.
        run_id: The mixft run id (the W&B run id; an MLflow tag).
        run_dir: The run directory.
        role: base, baseline or mixture.
        sweep: The sweep that runs it (W&B group, MLflow experiment), or None.
    """
    return tracker_for(cfg.tracker).run(cfg, run_id, run_dir, role, sweep)
