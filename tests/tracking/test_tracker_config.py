"""Tracker settings typed by tracker.name, like executors: each tracker's own keys, one-line errors."""

from __future__ import annotations

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.config.trackers import TRACKER_CONFIGS, MlflowConfig, NoTrackerConfig, WandbConfig
from mixft.runner.errors import ConfigError
from mixft.runner.tracking import TRACKERS, tracker_for
from mixft.runner.tracking.base import RunTracking


def test_every_tracker_has_settings_an_implementation_and_a_conf_file():
    from mixft.runner.config.catalog import group_options

    assert set(TRACKERS) == set(TRACKER_CONFIGS) == set(group_options("tracker"))
    for name, cls in TRACKER_CONFIGS.items():
        assert tracker_for(cls()).name == name


@pytest.mark.parametrize(
    "overrides,cls,expected",
    [
        ([], NoTrackerConfig, {}),
        (["tracker=wandb", "tracker.project=p", "tracker.mode=offline"], WandbConfig, {"project": "p"}),
        (["tracker=mlflow", "tracker.tracking_uri=http://127.0.0.1:5000"], MlflowConfig, {}),
        # a later tracker=OPTION replaces the section: another tracker's settings are dropped
        (["tracker=wandb", "tracker.project=p", "tracker=none"], NoTrackerConfig, {}),
    ],
)
def test_the_tracker_section_is_typed_by_its_name(overrides, cls, expected):
    tracker = load_config(overrides).tracker
    assert type(tracker) is cls
    assert all(getattr(tracker, k) == v for k, v in expected.items())


@pytest.mark.parametrize(
    "overrides,fragment",
    [
        (["tracker=mlflow", "tracker.project=p"], "tracker mlflow has: tags, tracking_uri, experiment"),
        (["tracker.tracking_uri=http://x:1"], "tracker none has: tags"),
        (["tracker=mlflow", "tracker.tracking_uri=localhost:5000"], "is not an MLflow tracking URI"),
        (
            ["tracker=mlflow", "tracker.tracking_uri=http://me:hunter2@mlflow:5000"],
            "MLFLOW_TRACKING_PASSWORD",
        ),
        (["tracker=wandb", "tracker.mode=sometimes"], "tracker.mode"),
        (["tracker=mlfow"], "did you mean"),
        (["tracker.name=mlflow"], "tracker=OPTION"),
    ],
)
def test_bad_tracker_settings_are_one_line(overrides, fragment):
    with pytest.raises(ConfigError) as caught:
        load_config(overrides)
    message = str(caught.value)
    assert fragment in message and "\n" not in message


def test_none_tracks_nothing_and_publishes_nothing(tmp_path):
    tracker = tracker_for(NoTrackerConfig())
    cfg = load_config([])
    assert type(tracker.run(cfg, "a-b", tmp_path, "base", None)) is RunTracking
    assert tracker.side_run("compare", "smoke", tmp_path, {}) is None
    assert tracker.pending(tmp_path) == {} and not any(tmp_path.iterdir())
