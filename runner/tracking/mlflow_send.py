"""Sending a run to MLflow from its store files, and reading a sweep's MLflow runs back.

run: mixft sweep smoke tracker=mlflow    |    mixft compare smoke --source mlflow    |    mixft sync --all

One MLflow run per evaluation, tagged `mixft.run_id`: params (the tracking config, as strings), the
training curves with their steps (train.log), the eval metrics (metrics.json) and, as artifacts, the
tracking config as JSON (what compare reads back, types intact), metrics.json, manifest.json, the
predictions and the suites' records. A send first deletes any earlier MLflow run of the same mixft run
(a half-sent one, an earlier attempt), so sending twice leaves one run. A local sqlite store is written
under a file lock: several runs on this host share it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mixft.runner.paths import store_root
from mixft.runner.store import rundir
from mixft.runner.store.atomic import exclusive

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S = "20"  # one request to a tracking server; a dead server is a refused connection at once
HTTP_RETRIES = "1"  # MLflow's default (7, with backoff) holds a run minutes on a server that is down
RUN_TAG, KIND_TAG, SENT_TAG = "mixft.run_id", "mixft.kind", "mixft.sent"
CONFIG_ARTIFACT = "mixft/config.json"
BATCH = 500  # metrics per log_batch call (MLflow accepts up to 1000)
MAX_PARAM = 6000  # characters MLflow keeps of a param value


def default_uri() -> str:
    """The local store: an sqlite database under $MIXFT_HOME/mlflow (no server, no network)."""
    return f"sqlite:///{store_root() / 'mlflow' / 'mlflow.db'}"


def local_db(uri: str) -> Path | None:
    """The database file of an sqlite URI (written under a lock), else None."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


@contextlib.contextmanager
def client_for(uri: str) -> Iterator[Any]:
    """An MlflowClient for `uri`, holding the local database's lock while it is used."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", HTTP_RETRIES)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", HTTP_TIMEOUT_S)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per file read back
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the local store's schema set-up
    from mlflow import MlflowClient

    db = local_db(uri)
    if db is None:
        yield MlflowClient(tracking_uri=uri)
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(db):
        yield MlflowClient(tracking_uri=uri)


def experiment_id(client: Any, name: str, uri: str, create: bool = True) -> str | None:
    """The experiment's id; created when missing (artifacts beside a local database)."""
    found = client.get_experiment_by_name(name)
    if found is not None or not create:
        return found.experiment_id if found is not None else None
    db = local_db(uri)
    location = (db.parent / "artifacts" / name).as_uri() if db is not None else None
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except Exception:  # created meanwhile by another process
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def mlflow_name(key: str) -> str:
    """A param or metric name MLflow accepts (letters, digits, _ - . / and spaces; 250 characters)."""
    return re.sub(r"[^\w\-./ ]", "_", key)[:250]


def param_text(value: Any) -> str:
    """A config value as an MLflow param: text (JSON for lists and numbers), cut to what MLflow keeps."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:MAX_PARAM]


def begin(client: Any, payload: dict[str, Any]) -> str:
    """Delete earlier MLflow runs of this mixft run, create a fresh one with its tags and params."""
    from mlflow.entities import Param

    exp = experiment_id(client, payload["experiment"], payload["uri"])
    for old in client.search_runs([exp], f"tags.`{RUN_TAG}` = '{payload['run_id']}'"):
        client.delete_run(old.info.run_id)
    run = client.create_run(exp, run_name=payload["name"], tags=payload["tags"])
    params = [Param(mlflow_name(k), param_text(v)) for k, v in payload["config"].items()]
    for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(run.info.run_id, params=params[start : start + 100])
    return str(run.info.run_id)


def _metrics(folder: Path, training: Path) -> list[tuple[str, float, int]]:
    """(key, value, step): the training curves of train.log, then metrics.json at the last step."""
    rows: list[tuple[str, float, int]] = []
    log_file = training / rundir.TRAIN_LOG
    lines = log_file.read_text(encoding="utf-8").splitlines() if log_file.exists() else []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:  # a line cut off by a kill
            continue
        step = int(entry.get("step", 0))
        rows += [(f"train/{k}", float(v), step) for k, v in entry.items() if _number(v) and k != "step"]
    last = max((step for _, _, step in rows), default=0)
    metrics = rundir.read_metrics(folder) if (folder / rundir.METRICS).exists() else {}
    return rows + [(k, float(v), last) for k, v in metrics.items() if _number(v)]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def complete(client: Any, mlflow_id: str, payload: dict[str, Any], folder: Path, ok: bool) -> None:
    """Log the curves, metrics and files of a run already begun, then mark it sent and ended."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [
        Metric(mlflow_name(k), v, now, step) for k, v, step in _metrics(folder, Path(payload["training_dir"]))
    ]
    for start in range(0, len(metrics), BATCH):
        client.log_batch(mlflow_id, metrics=metrics[start : start + BATCH])
    client.log_dict(mlflow_id, payload["config"], CONFIG_ARTIFACT)
    manifest = Path(payload["training_dir"]) / rundir.MANIFEST
    for path in (folder / rundir.METRICS, manifest):
        if path.exists():
            client.log_artifact(mlflow_id, str(path))
    for sub in (rundir.predictions_dir(folder), folder / "suites"):
        if sub.is_dir() and any(sub.iterdir()):
            client.log_artifacts(mlflow_id, str(sub), sub.name)
    client.set_tag(mlflow_id, SENT_TAG, "true")
    end_run(client, mlflow_id, "FINISHED" if ok else "FAILED")


def end_run(client: Any, mlflow_id: str, status: str) -> None:
    """Terminate an MLflow run; MLflow's two "View run at" lines stay off mixft's stdout (JSON there)."""
    with contextlib.redirect_stdout(io.StringIO()):
        client.set_terminated(mlflow_id, status)


# MLflow run status -> mixft state
STATES = {"FINISHED": "done", "FAILED": "failed", "KILLED": "interrupted", "RUNNING": "running"}


def _fetcher(client: Any, mlflow_id: str, cache: Path) -> Any:
    def fetch(name: str) -> str | None:
        """The text of one of the run's artifacts; None when it has none of that name."""
        try:
            return Path(client.download_artifacts(mlflow_id, name, str(cache))).read_text(encoding="utf-8")
        except Exception:  # not logged (no predictions for a failed run), or the server went away
            return None

    return fetch


def read_experiment(uri: str, name: str, cache: Path) -> list[Any]:
    """The mixft runs of an experiment as TrackedRun (side runs left out), artifacts fetched on demand.

    Raises:
        ConfigError: the tracking store cannot be read, or it has no such experiment.
    """
    from mixft.runner.errors import ConfigError
    from mixft.runner.tracking.base import TrackedRun, one_line

    try:
        with client_for(uri) as client:
            exp = experiment_id(client, name, uri, create=False)
            if exp is None:
                raise ConfigError(
                    f"MLflow at {uri} has no experiment '{name}'; did the sweep run with tracker=mlflow?"
                )
            found, token = [], None
            while True:  # pages of up to 1000 runs
                page = client.search_runs([exp], f"tags.`{KIND_TAG}` = 'run'", page_token=token)
                found, token = [*found, *page], page.token
                if not token:
                    break
            runs = []
            for run in found:
                fetch = _fetcher(client, run.info.run_id, cache / run.info.run_id)
                config = json.loads(fetch(CONFIG_ARTIFACT) or "{}")
                rid = run.data.tags.get(RUN_TAG, run.info.run_id)
                state = STATES.get(run.info.status, run.info.status.lower())
                runs.append(TrackedRun(rid, state, config, dict(run.data.metrics), fetch))
            return runs
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"MLflow at {uri}: cannot read experiment '{name}' ({one_line(exc)})") from None
