"""tracker=wandb: Weights & Biases, online with credentials, else offline files that `mixft sync` uploads.

run: mixft sweep smoke tracker=wandb    (offline without credentials; upload later with `mixft sync`)

A run's W&B id is its mixft run id, so a resumed run continues the same W&B run, and its files land in
<run_dir>/wandb. The Trainer's own WandbCallback logs the training curves into the live run. Every W&B
call is guarded: a failure is one warning. wandb 0.31 keeps an offline run as one transaction log,
<run_dir>/wandb/offline-run-<time>-<id>/run-<id>.wandb (no files/config.yaml or wandb-summary.json).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from mixft.runner.config.run import run_name
from mixft.runner.config.schema import Config
from mixft.runner.config.trackers import WandbConfig
from mixft.runner.store import rundir
from mixft.runner.tracking.base import RunTracking, SideRun, SyncResult, TrackedRun, Tracker, guarded
from mixft.runner.tracking.config import tracking_config
from mixft.runner.tracking.sync import offline_targets, upload
from mixft.runner.tracking.wandb_init import SETTINGS, init_run, resolve_mode
from mixft.runner.tracking.wandb_side import WandbSideRun, read_group


class WandbTracker(Tracker):
    """W&B runs in `tracker.project` (group: the sweep; job type: the run's role)."""

    name = "wandb"
    settings: WandbConfig

    def run(self, cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> RunTracking:
        if self.settings.mode == "disabled":
            return RunTracking()
        return WandbRunTracking(cfg, run_id, run_dir, role, sweep)

    def side_run(self, kind: str, group: str, folder: Path, config: dict[str, Any]) -> SideRun | None:
        """A run of job type `kind` in the W&B group `group`; its files in folder/wandb."""
        return WandbSideRun.start(self.settings, kind, group, folder, config)

    def read_runs(self, sweep: str) -> list[TrackedRun]:
        return read_group(self.settings, sweep)

    def pending(self, root: Path) -> dict[str, list[Path]]:
        """Offline W&B folders not uploaded yet, per run id, search (searches/NAME) or comparison
        (compare/SWEEP)."""
        return offline_targets(root)

    def sync(self, label: str, records: list[Path]) -> SyncResult:
        return upload(label, records)


class WandbRunTracking(RunTracking):
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
        with guarded("W&B", "start"):
            folder = rundir.wandb_dir(self.run_dir)
            mode = resolve_mode(self.cfg.tracker.mode, folder, self.run_id)
            if mode != "disabled":
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self._run = init_run(mode, self._init_kwargs(), folder, self.run_id)
                self.report_to = "wandb"

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
            with guarded("W&B", "log_summary"):
                self._run.summary.update(dict(metrics))
            predictions = rundir.predictions_dir(self.run_dir)
            if any(predictions.glob("*.jsonl")):
                with guarded("W&B", "save predictions"), contextlib.redirect_stderr(io.StringIO()):
                    # wandb prints "Symlinked N files" to stderr even when silent
                    self._run.save(str(predictions / "*.jsonl"), base_path=str(self.run_dir), policy="now")

    def finish(self, ok: bool) -> None:
        """Close the run (ok=False marks it failed) and return once its files are complete on disk."""
        run, self._run, self.report_to = self._run, None, "none"
        if run is not None:
            import wandb

            with guarded("W&B", "finish"):
                run.finish(exit_code=0 if ok else 1)
                # run.finish() can return before wandb-core has flushed the offline log; stopping
                # the service flushes it, so `mixft sync` or a reader right after sees the whole run
                wandb.teardown()
