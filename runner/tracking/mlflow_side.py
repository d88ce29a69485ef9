"""MLflow side runs beside a sweep's runs: a comparison (`mixft compare --publish`), a search's rounds.

run: mixft compare smoke --publish    |    mixft search search_smoke tracker=mlflow    |    mixft sync --all

A side run collects what it is given (params, step metrics, tables, images, summary) and sends it
whole when it finishes: one MLflow run in the sweep's (or search's) experiment, tagged mixft.kind =
compare or search and mixft.side_id. When the send fails (a server down), the side run's folder
(compare/<sweep>/ or searches/<name>/) keeps what it would have sent in its tracking.json, images
copied to mlflow-unsent/ beside it, and `mixft sync` sends it: a send first deletes any MLflow run of
the same side_id (a half-sent one), so sending twice leaves one run. A failure is one warning.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from mixft.runner.store import tracked
from mixft.runner.store.atomic import write_bytes
from mixft.runner.tracking import mlflow_send as send
from mixft.runner.tracking.base import SideRun, one_line

log = logging.getLogger(__name__)

SIDE_TAG = "mixft.side_id"  # one id per side run: a re-send replaces what an earlier try left
IMAGES = "mlflow-unsent"  # images a failed send keeps, in the side run's folder
TRACKER = "mlflow"


class MlflowSideRun(SideRun):
    """A side run of `kind` in `experiment`, sent when it finishes or kept in `folder` for sync."""

    def __init__(
        self, uri: str, experiment: str, kind: str, group: str, folder: Path, config: dict[str, Any]
    ) -> None:
        self.folder = folder
        self.record: dict[str, Any] = {
            "uri": uri,
            "experiment": experiment,
            "kind": kind,
            "group": group,
            "side_id": uuid.uuid4().hex,
            "config": config,
            "steps": [],  # [{"step": N, "values": {name: number}}]
            "tables": {},  # name -> rows
            "images": {},  # name -> PNG path
            "summary": {},  # name -> number
        }

    def log_step(self, values: dict[str, float], step: int) -> None:
        self.record["steps"].append({"step": step, "values": {k: float(v) for k, v in values.items()}})

    def log_table(self, name: str, rows: list[dict[str, Any]]) -> None:
        self.record["tables"][name] = rows

    def log_image(self, name: str, path: Path) -> None:
        self.record["images"][name] = str(path)

    def set_summary(self, values: dict[str, Any]) -> None:
        self.record["summary"] |= {k: float(v) for k, v in values.items()}

    def finish(self) -> str | None:
        """Send it; where it is, or None when the send failed (warned, and kept for `mixft sync`)."""
        record = self.record
        try:
            mlflow_id = send_side(record)
        except Exception as exc:
            log.warning(
                "MLflow: sending the %s run to %s failed (%s); local files are unaffected, "
                "`mixft sync --all` sends it later",
                record["kind"],
                record["uri"],
                one_line(exc),
            )
            try:
                keep(self.folder, record, one_line(exc))
            except OSError as error:  # a full disk: the local outputs are written already
                log.warning(
                    "MLflow: the %s run cannot be kept for sync (%s)", record["kind"], one_line(error)
                )
            return None
        sent(self.folder)  # an earlier side run of this folder that was not sent is superseded
        return f"{record['uri']} (run {mlflow_id})"


def send_side(record: dict[str, Any]) -> str:
    """Send a side run whole (an earlier run of its side_id deleted first); its MLflow run id."""
    from mlflow.entities import Metric, Param

    uri, kind, group = record["uri"], record["kind"], record["group"]
    with send.client_for(uri) as client:
        exp = send.experiment_id(client, record["experiment"], uri)
        for old in client.search_runs([exp], f"tags.`{SIDE_TAG}` = '{record['side_id']}'"):
            client.delete_run(old.info.run_id)
        tags = {send.KIND_TAG: kind, "sweep": group, SIDE_TAG: record["side_id"]}
        mlflow_id = str(client.create_run(exp, run_name=f"{kind} · {group}", tags=tags).info.run_id)
        params = [Param(send.mlflow_name(k), send.param_text(v)) for k, v in record["config"].items()]
        now = int(time.time() * 1000)
        metrics = [
            Metric(send.mlflow_name(k), v, now, entry["step"])
            for entry in record["steps"]
            for k, v in entry["values"].items()
        ] + [Metric(send.mlflow_name(k), v, now, 0) for k, v in record["summary"].items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            client.log_batch(mlflow_id, params=params[start : start + 100])
        for start in range(0, len(metrics), send.BATCH):
            client.log_batch(mlflow_id, metrics=metrics[start : start + send.BATCH])
        for name, rows in record["tables"].items():
            client.log_dict(mlflow_id, rows, f"{name}.json")
        for name, path in record["images"].items():
            client.log_artifact(mlflow_id, path, str(Path(name).parent))
        send.end_run(client, mlflow_id, "FINISHED")
    return mlflow_id


def keep(folder: Path, record: dict[str, Any], reason: str) -> None:
    """Record in `folder`'s tracking.json what a failed send would have sent; images copied beside
    it (mlflow-unsent/<n>/<file>), so a later plot does not change what is sent."""
    images = {}
    for number, (name, path) in enumerate(record["images"].items()):
        copy = folder / IMAGES / str(number) / Path(path).name
        write_bytes(copy, Path(path).read_bytes())
        images[name] = str(copy)
    tracked.mark_unsent(folder, TRACKER, reason, side=record | {"images": images})


def sent(folder: Path) -> None:
    """Forget `folder`'s unsent side run, and its kept images."""
    tracked.mark_sent(folder, TRACKER)
    shutil.rmtree(folder / IMAGES, ignore_errors=True)


def unsent_sides(root: Path) -> dict[str, list[Path]]:
    """Side-run folders under a store whose tracking.json holds an unsent MLflow side run, by label
    (compare/<sweep>, searches/<name>)."""
    found = [
        path.parent
        for pattern in (f"compare/*/{tracked.TRACKING}", f"searches/*/{tracked.TRACKING}")
        for path in sorted(root.glob(pattern))
        if "side" in (tracked.unsent(path.parent).get(TRACKER) or {})
    ]
    return {f"{folder.parent.name}/{folder.name}": [folder] for folder in found}


def resend(folder: Path) -> None:
    """Send `folder`'s unsent side run and forget it (nothing when there is none).

    Raises:
        Exception: whatever MLflow raised; the record stays for the next try.
    """
    entry = tracked.unsent(folder).get(TRACKER) or {}
    if "side" in entry:
        send_side(entry["side"])
    sent(folder)
