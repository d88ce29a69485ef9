"""tracker=mlflow: MLflow, a local store under $MIXFT_HOME (no server, no network) or a tracking server.

run: mixft sweep smoke tracker=mlflow    |    mixft sweep smoke tracker=mlflow tracker.tracking_uri=http://127.0.0.1:5000

Experiment = the sweep's name (tracker.experiment overrides it); one MLflow run per evaluation, tagged
with its training id, role, model, tasks, regulariser and seed, so a later evaluation of a trained model
is a run of its own that carries the training id. start() creates the run with its params; finish()
sends the curves, metrics and files from the store (mlflow_send.py). A failure is one warning, and the
run dir's tracking.json records what was not sent, with what it takes to send it: `mixft sync` does.
Side runs (a comparison, a search's rounds) are mlflow_side.py's, kept and sent the same way.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mixft.runner.config.run import run_name
from mixft.runner.config.schema import Config
from mixft.runner.config.trackers import MlflowConfig
from mixft.runner.paths import compare_dir, training_dir
from mixft.runner.store import tracked
from mixft.runner.tracking import mlflow_send as send
from mixft.runner.tracking import mlflow_side as side
from mixft.runner.tracking.base import RunTracking, SideRun, SyncResult, TrackedRun, Tracker, one_line
from mixft.runner.tracking.config import tracking_config

log = logging.getLogger(__name__)


class MlflowTracker(Tracker):
    """MLflow runs in the experiment named after the sweep."""

    name = "mlflow"
    settings: MlflowConfig

    @property
    def uri(self) -> str:
        return self.settings.tracking_uri or send.default_uri()

    def run(self, cfg: Config, run_id: str, run_dir: Path, role: str, sweep: str | None) -> RunTracking:
        return MlflowRunTracking(_payload(self.settings, self.uri, cfg, run_id, role, sweep), run_dir)

    def side_run(self, kind: str, group: str, folder: Path, config: dict[str, Any]) -> SideRun | None:
        return side.MlflowSideRun(self.uri, self.settings.experiment or group, kind, group, folder, config)

    def read_runs(self, sweep: str) -> list[TrackedRun]:
        cache = compare_dir(sweep) / "mlflow-files"
        return send.read_experiment(self.uri, self.settings.experiment or sweep, cache)

    def pending(self, root: Path) -> dict[str, list[Path]]:
        """Run dirs whose tracking.json says MLflow has not got them, by run id; side runs' folders
        (compare/<sweep>, searches/<name>) that hold one it has not got."""
        found = tracked.unsent_runs(root / "runs", self.name)
        return {f"{p.parent.parent.name}-{p.name}": [p] for p in found} | side.unsent_sides(root)

    def sync(self, label: str, records: list[Path]) -> SyncResult:
        """Send each run dir or side run again, whole (a half-sent MLflow run is replaced); never raises."""
        for folder in records:
            entry = tracked.unsent(folder).get(self.name) or {}
            if "side" in entry:
                try:
                    side.resend(folder)
                except Exception as exc:
                    return SyncResult(label, False, f"failed: {one_line(exc)} ({entry['side']['uri']})")
                continue
            payload = entry.get("payload")
            if payload is None:
                return SyncResult(label, False, f"failed: {folder}/{tracked.TRACKING} has no payload")
            try:
                with send.client_for(payload["uri"]) as client:
                    send.complete(client, send.begin(client, payload), payload, folder, entry.get("ok", True))
            except Exception as exc:
                return SyncResult(label, False, f"failed: {one_line(exc)} ({payload['uri']})")
            tracked.mark_sent(folder, self.name)
        return SyncResult(label, True, "sent")


def _payload(
    settings: MlflowConfig, uri: str, cfg: Config, run_id: str, role: str, sweep: str | None
) -> dict[str, Any]:
    """Everything a send needs besides the store's files (kept in tracking.json when it fails)."""
    training = run_id.partition("-")[0]
    tags = {
        send.RUN_TAG: run_id,
        send.KIND_TAG: "run",
        "training_id": training,
        "role": role,
        "model": cfg.model.name,
        "tasks": "+".join(cfg.mixture.tasks) or "base",
        "regularizer": cfg.regularizer.name,
        "seed": str(cfg.seed),
        "sweep": sweep or "",
    } | dict.fromkeys(settings.tags, "")
    return {
        "uri": uri,
        "experiment": settings.experiment or sweep or "mixft",
        "run_id": run_id,
        "name": run_name(cfg),
        "tags": tags,
        "config": tracking_config(cfg, role, sweep) | {"training_id": training},
        "training_dir": str(training_dir(run_id)),
    }


class MlflowRunTracking(RunTracking):
    """One evaluation's MLflow run; the Trainer logs nothing itself (report_to stays "none")."""

    def __init__(self, payload: dict[str, Any], run_dir: Path) -> None:
        self.payload, self.run_dir = payload, run_dir
        self._mlflow_id: str | None = None
        self._failed = False

    def _warn(self, action: str, exc: Exception) -> None:
        if not self._failed:  # one warning per run, however many calls fail
            log.warning(
                "MLflow: %s failed (%s); the run goes on, `mixft sync %s` sends it later",
                action,
                one_line(exc),
                self.payload["run_id"],
            )
        self._failed = True

    def start(self) -> None:
        """Create the MLflow run with its tags and params (an earlier one of this run is replaced)."""
        try:
            with send.client_for(self.payload["uri"]) as client:
                self._mlflow_id = send.begin(client, self.payload)
        except Exception as exc:
            self._warn(f"starting the run at {self.payload['uri']}", exc)

    def finish(self, ok: bool) -> None:
        """Send the curves, metrics and files; record in tracking.json what could not be sent."""
        try:
            with send.client_for(self.payload["uri"]) as client:
                mlflow_id = self._mlflow_id or send.begin(client, self.payload)
                send.complete(client, mlflow_id, self.payload, self.run_dir, ok)
            tracked.mark_sent(self.run_dir, "mlflow")
        except Exception as exc:
            self._warn(f"sending the run to {self.payload['uri']}", exc)
            tracked.mark_unsent(self.run_dir, "mlflow", one_line(exc), payload=self.payload, ok=ok)
