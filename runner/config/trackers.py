"""Tracker settings: one dataclass per tracker, typed by `tracker.name` at composition.

run: mixft config show tracker=mlflow    |    mixft sweep smoke tracker=wandb tracker.project=my-project

`tracker.name` says where a run's config, curves, metrics and predictions are sent besides the store
(the store is always written first; a tracker only mirrors it). The conf/tracker/<option>.yaml
options are presets of these settings; each tracker's implementation (runner/tracking/) reads its own
dataclass. The tracker is left out of run ids, so tracking a sweep elsewhere retrains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from mixft.runner.config.typed import settings_class, settings_fields


@dataclass
class TrackerConfig:
    """What every tracker has."""

    # the tracker: a name in TRACKER_CONFIGS
    name: str = MISSING
    # labels added to every tracked run
    tags: list[str] = field(default_factory=list)


@dataclass
class NoTrackerConfig(TrackerConfig):
    """Results stay in the local store only."""

    name: str = "none"


@dataclass
class WandbConfig(TrackerConfig):
    """Weights & Biases: online with credentials, else offline files that `mixft sync` uploads."""

    name: str = "wandb"
    project: str = "mixft"
    entity: str | None = None
    # auto (online with credentials, else offline) | online | offline | disabled
    mode: str = "auto"


@dataclass
class MlflowConfig(TrackerConfig):
    """MLflow: a local store (no server, no network) or a tracking server (http://host:port)."""

    name: str = "mlflow"
    # where runs go: http(s)://host:port, file:/path, sqlite:///path; null: $MIXFT_HOME/mlflow
    tracking_uri: str | None = None
    # the MLflow experiment; null: the sweep's name (runs outside a sweep: "mixft")
    experiment: str | None = None


# name -> its settings; runner/tracking/ holds the implementation of each (TRACKERS there)
TRACKER_CONFIGS: dict[str, type[TrackerConfig]] = {
    "none": NoTrackerConfig,
    "wandb": WandbConfig,
    "mlflow": MlflowConfig,
}


def tracker_config(name: str) -> type[TrackerConfig]:
    """The settings dataclass of a tracker (ConfigError for an unknown one, with the nearest name)."""
    return settings_class("tracker", TRACKER_CONFIGS, name)


def tracker_fields(name: str | None = None) -> list[str]:
    """Settings of one tracker, or of any tracker when `name` is None, in declaration order."""
    return settings_fields("tracker", TRACKER_CONFIGS, name)
