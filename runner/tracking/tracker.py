"""Experiment tracking: W&B when the run's tracker says so, a do-nothing tracker otherwise.

run: mixft sweep smoke tracker=wandb    (offline without credentials; upload later with `mixft sync`)

A run's W&B id is its mixft run id, so a resumed run continues the same W&B run, and its files land in
<run_dir>/wandb. Tracking never costs local results: every W&B call is guarded, and a failure is one
warning. wandb 0.31 keeps an offline run as one transaction log,
<run_dir>/wandb/offline-run-<time>-<id>/run-<id>.wandb (no files/config.yaml or wandb-summary.json).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from mixft.runner.config.run import run_name, summary
from mixft.runner.config.schema import Config
from mixft.runner.config.secrets import without_secrets
from mixft.runner.store import rundir
from mixft.runner.tracking.wandb_init import SETTINGS, init_run, one_line, resolve_mode

log = logging.getLogger(__name__)


class Tracker(Protocol):
    """What the run entry point needs from a tracker."""

    report_to: str  # transformers' TrainingArguments.report_to: "wandb" or "none"

    def start(self) -> None: ...

    def log_summary(self, metrics: dict[str, float]) -> None: ...

    def finish(self, ok: bool) -> None: ...


class NullTracker:
    """tracker=none or mode disabled: every call does nothing, so callers never branch on W&B."""

    report_to = "none"

    def start(self) -> None: ...

    def log_summary(self, metrics: dict[str, float]) -> None: ...

    def finish(self, ok: bool) -> None: ...


@contextmanager
def _guarded(action: str) -> Iterator[None]:
    """Turn any tracking error into one warning: a W&B failure must never lose local results."""
    try:
        yield
    except Exception as exc:
        log.warning("W&B: %s failed (%s); local results are unaffected", action, one_line(exc))


class WandbTracker:
    """Tracks one run in W&B; start() begins or resumes it, finish() closes it.

    report_to is "wandb" only while a run is live: the Trainer's WandbCallback then logs into it (it
    reuses `wandb.run`), and it never starts a run of its own after a failed start.
    """

    def __init__(self, cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> None:
        self.cfg, self.run_id, self.run_dir, self.role, self.sweep = cfg, run_id, run_dir, role, sweep
        self._run: Any = None
        self.report_to = "none"

    def start(self) -> None:
        """Begin the W&B run, or continue it when this run id was tracked before."""
        if self._run is not None:
            return
        with _guarded("start"):
            mode = self._mode()
            if mode != "disabled":
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self._run = self._init(mode)
                self.report_to = "wandb"

    def _mode(self) -> str:
        return resolve_mode(self.cfg.tracker.mode, rundir.wandb_dir(self.run_dir), self.run_id)

    def _init(self, mode: str) -> Any:
        return init_run(mode, self._init_kwargs(), rundir.wandb_dir(self.run_dir), self.run_id)

    def _init_kwargs(self) -> dict[str, Any]:
        import wandb

        cfg, tracker = self.cfg, self.cfg.tracker
        return {
            "project": tracker.project,
            "entity": tracker.entity,
            "id": self.run_id,
            "resume": "allow",
            "dir": str(self.run_dir),  # wandb writes into dir/wandb: rundir.wandb_dir
            "group": self.sweep or None,
            "job_type": self.role,
            "name": run_name(cfg),
            # the training it scores: a later evaluation of a saved model is a W&B run of its own
            "config": tracking_config(cfg, self.role, self.sweep)
            | {"training_id": self.run_id.partition("-")[0]},
            "tags": list(dict.fromkeys([*tracker.tags, cfg.model.name, self.role, cfg.regularizer.name])),
            "settings": wandb.Settings(**SETTINGS),
        }

    def log_summary(self, metrics: dict[str, float]) -> None:
        """Write the final eval metrics into the run summary, and save the predictions as run files
        (`mixft compare --source wandb` reads them for its confidence intervals)."""
        if self._run is not None:
            with _guarded("log_summary"):
                self._run.summary.update(dict(metrics))
            predictions = rundir.predictions_dir(self.run_dir)
            if any(predictions.glob("*.jsonl")):
                with _guarded("save predictions"), contextlib.redirect_stderr(io.StringIO()):
                    # wandb prints "Symlinked N files" to stderr even when silent
                    self._run.save(str(predictions / "*.jsonl"), base_path=str(self.run_dir), policy="now")

    def finish(self, ok: bool) -> None:
        """Close the run (ok=False marks it failed) and return once its files are complete on disk."""
        run, self._run, self.report_to = self._run, None, "none"
        if run is not None:
            import wandb

            with _guarded("finish"):
                run.finish(exit_code=0 if ok else 1)
                # run.finish() can return before wandb-core has flushed the offline log; stopping
                # the service flushes it, so `mixft sync` or a reader right after sees the whole run
                wandb.teardown()


def make_tracker(cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> Tracker:
    """The tracker of one run: W&B when configured, else a NullTracker (only the main process of a
    multi-GPU run tracks it: see execute/entry.py).

    Args:
        cfg: The resolved run config; `cfg.tracker` picks the tracker and its mode.
        run_id: The mixft run id, used as the W&B run id.
        run_dir: The run directory; W&B files go to run_dir/wandb.
        role: base, baseline or mixture (the W&B job type).
        sweep: The sweep that runs it (the W&B group), or None.
    """
    if cfg.tracker.name != "wandb" or cfg.tracker.mode == "disabled":
        return NullTracker()
    return WandbTracker(cfg, run_id, run_dir, role, sweep)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> {"section.key": value} (how W&B shows a config)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def tracking_config(cfg: Config, role: str, sweep: str | None) -> dict[str, Any]:
    """The W&B config: the resolved config with dotted keys, plus the sweep axes at top level.

    The task catalogue is cut to its names (the details are in the run dir's config.yaml).
    """
    plain = dataclasses.asdict(cfg) | {"task": sorted(cfg.task)}
    return flatten(without_secrets(plain)) | summary(cfg, role) | {"sweep": sweep}
