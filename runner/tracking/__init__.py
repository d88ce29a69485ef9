"""Trackers: where a run's config, curves, metrics and predictions are mirrored, behind one interface
(base.py).

run: mixft sweep smoke tracker=wandb|mlflow|none    |    mixft compare smoke --source mlflow    |    mixft sync --all

Adding a tracker: a module here with a `Tracker` subclass, its settings dataclass in
config/trackers.py (TRACKER_CONFIGS), a conf/tracker/<name>.yaml preset, and one line in TRACKERS.
"""

from __future__ import annotations

from mixft.runner.config.trackers import TrackerConfig, tracker_config
from mixft.runner.errors import unknown
from mixft.runner.tracking.base import Tracker
from mixft.runner.tracking.mlflow import MlflowTracker
from mixft.runner.tracking.none import NoTracker
from mixft.runner.tracking.wandb import WandbTracker

TRACKERS: dict[str, type[Tracker]] = {cls.name: cls for cls in (NoTracker, WandbTracker, MlflowTracker)}


def tracker_for(settings: TrackerConfig) -> Tracker:
    """The tracker that `settings.name` names, with its settings.

    Raises:
        ConfigError: no tracker of that name is registered.
    """
    if settings.name not in TRACKERS:
        raise unknown("tracker", settings.name, TRACKERS)
    return TRACKERS[settings.name](settings)


def tracker_named(name: str) -> Tracker:
    """A tracker with its default settings (`mixft sync`: what it sends names its own destination)."""
    return tracker_for(tracker_config(name)())
