"""The tracker interface: where a run's config, curves, metrics and predictions are mirrored.

run: mixft sweep smoke tracker=wandb|mlflow|none    |    mixft compare smoke --source mlflow    |    mixft sync --all

The store is the truth: a run writes its files first, and a tracker mirrors them. A tracker has four
jobs, each a method here: a run's tracking (`run`: start or resume, config, metrics with steps, files,
finish), side runs beside a sweep's runs (`side_run`: a comparison, a search's rounds), reading a
sweep's runs back (`read_runs`, for `mixft compare --source NAME`) and sending what could not be sent
(`pending` and `sync`, for `mixft sync`). Tracking never costs local results: a failure is one warning.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mixft.runner.config.schema import Config
from mixft.runner.config.trackers import TrackerConfig
from mixft.runner.errors import ConfigError

log = logging.getLogger(__name__)


def one_line(exc: BaseException) -> str:
    """An exception as `Type: first line of its message`."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@contextmanager
def guarded(who: str, action: str) -> Iterator[None]:
    """Turn any tracking error into one warning: a tracker's failure must never lose local results."""
    try:
        yield
    except Exception as exc:
        log.warning("%s: %s failed (%s); local results are unaffected", who, action, one_line(exc))


class RunTracking:
    """One run's tracking; this default does nothing, so callers never branch on the tracker.

    report_to is the Trainer's `report_to` ("none" unless the tracker logs through the Trainer's own
    callback while the run is live, as W&B does).
    """

    report_to = "none"

    def start(self) -> None:
        """Begin tracking the run, or continue it when it was tracked before."""

    def log_summary(self, metrics: dict[str, float]) -> None:
        """The run's final metrics (metrics.json), once written to the store."""

    def finish(self, ok: bool) -> None:
        """Close the run (ok=False: it failed); return once what it sends is sent or recorded."""


class SideRun:
    """A run beside a sweep's runs (a comparison, a search): tables, images, step metrics, summary."""

    def log_step(self, values: dict[str, float], step: int) -> None:
        """Numbers at one step (a search round)."""

    def log_table(self, name: str, rows: list[dict[str, Any]]) -> None:
        """Rows with the same keys, as one table."""

    def log_image(self, name: str, path: Path) -> None:
        """A PNG."""

    def set_summary(self, values: dict[str, Any]) -> None:
        """Final values."""

    def finish(self) -> str | None:
        """Close it; where it is (a URL, a folder), None when it could not be sent."""
        return None


@dataclass
class TrackedRun:
    """A sweep's run as a tracker gives it back: what `mixft compare --source NAME` reads.

    config: the tracking config (dotted keys, see `tracking_config`); summary: the final metrics;
    fetch: the text of one of the run's files (`predictions/<task>.jsonl`, `suites/...`), or None.
    """

    id: str
    state: str  # done | failed | interrupted | running
    config: dict[str, Any]
    summary: dict[str, Any]
    fetch: Callable[[str], str | None] = field(default=lambda name: None, repr=False)


@dataclass
class SyncResult:
    """One thing `mixft sync` sent, or could not: its label (a run id, compare/<sweep>, ...)."""

    label: str
    ok: bool
    message: str


class Tracker(ABC):
    """A tracking backend configured by its settings (config/trackers.py).

    Subclasses set `name` (the key of their settings in TRACKER_CONFIGS) and implement `run`; the
    rest defaults to "nothing to do" (side runs not logged, nothing to read back or send).
    """

    name: ClassVar[str]

    def __init__(self, settings: TrackerConfig) -> None:
        self.settings = settings

    @abstractmethod
    def run(self, cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> RunTracking:
        """The tracking of one run (only the main process of a multi-GPU run tracks it).

        Args:
            cfg: The resolved run config.
            run_id: The mixft run id (`<training>-<eval>`).
            run_dir: The run's folder in the store.
            role: base, baseline or mixture.
            sweep: The sweep that runs it, or None.
        """

    def side_run(self, kind: str, group: str, folder: Path, config: dict[str, Any]) -> SideRun | None:
        """A side run of `kind` (compare, search) in `group` (the sweep or search name); None when this
        tracker logs none. Its local files go to `folder`."""
        return None

    def read_runs(self, sweep: str) -> list[TrackedRun]:
        """The sweep's runs as this tracker holds them.

        Raises:
            ConfigError: this tracker cannot be read, or holds no run of the sweep.
        """
        raise ConfigError(f"tracker {self.name} keeps nothing that `mixft compare --source` can read")

    def pending(self, root: Path) -> dict[str, list[Path]]:
        """What `mixft sync` would send under a store: label -> its local records."""
        return {}

    def sync(self, label: str, records: list[Path]) -> SyncResult:
        """Send one label's records (see `pending`); idempotent, never raises."""
        return SyncResult(label, True, "nothing to send")
