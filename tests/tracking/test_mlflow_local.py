"""tracker=mlflow with no server: a local sqlite store under $MIXFT_HOME, read back by compare, and
a send that failed (a run's, a comparison's, a search's) recorded in the store and sent by `mixft sync`
(once)."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
from pathlib import Path

import pytest

from mixft.runner.config.trackers import MlflowConfig
from mixft.runner.paths import compare_dir, run_dir, search_dir, store_root
from mixft.runner.search.wandb_log import log_search
from mixft.runner.store import tracked
from mixft.runner.tracking import mlflow_side as side_run
from mixft.runner.tracking.tracker import make_tracker
from tests.compare import store
from tests.compare.test_compare import outcome
from tests.tracking.test_sync_side_runs import a_search
from tests.unit.helpers import assert_usage_error, invoke

pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402  (after the skip: mlflow is an extra)

SWEEP = """\
name: known
base: [model=tiny, training=smoke, eval=smoke, data.samples=true, tracker=mlflow]
mixtures:
  tasks: [fpb, headline]
  generators: [singles, pairs]
seeds: [0]
"""


def send_all(planned, settings: MlflowConfig) -> None:
    """What each run's entry point does once its files are in the store: start, then finish."""
    for run in planned:
        cfg = dataclasses.replace(run.config, tracker=settings)
        tracking = make_tracker(cfg, run.id, run_dir(run.id), run.role, "known")
        tracking.start()
        tracking.finish(True)


def mlflow_runs(uri: str, experiment: str = "known") -> list:
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


def rows(*args: str) -> list[dict]:
    result = invoke("compare", "known", "--view", "all", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["rows"]


def test_the_local_store_holds_every_run_and_compare_reads_the_same_rows(tmp_path):
    planned = store.build(tmp_path, outcome, SWEEP)
    send_all(planned, MlflowConfig())
    uri = f"sqlite:///{store_root() / 'mlflow' / 'mlflow.db'}"
    runs = mlflow_runs(uri)
    assert sorted(r.data.tags["mixft.run_id"] for r in runs) == sorted(p.id for p in planned)
    for run in runs:
        tags = run.data.tags
        assert tags["training_id"] == tags["mixft.run_id"].partition("-")[0] and tags["mixft.sent"] == "true"
        assert {"role", "model", "tasks", "regularizer", "seed"} <= set(tags)
        assert run.info.status == "FINISHED" and run.data.params["model.name"] == "tiny"
        assert any(k.startswith("eval/") for k in run.data.metrics)
    published = invoke("compare", "known", "--publish")  # a side run in the sweep's experiment
    assert published.exit_code == 0 and f"published: {uri}" in published.stderr, published.output
    [side] = [r for r in mlflow_runs(uri) if r.data.tags["mixft.kind"] == "compare"]
    artifacts = [a.path for a in MlflowClient(uri).list_artifacts(side.info.run_id, "compare")]
    assert {"compare/tasks.json", "compare/comparisons.json", "compare/heatmap.png"} <= set(artifacts)
    assert rows("--source", "mlflow") == rows()  # the side run is not read as a run

    send_all(planned, MlflowConfig())  # a resumed run sends again: still one MLflow run each
    assert len(mlflow_runs(uri)) == len(planned) + 1


def test_publishing_a_sweep_that_ran_untracked_is_one_line(tmp_path):
    store.build(tmp_path, outcome, SWEEP.replace(", tracker=mlflow", ""))
    assert_usage_error(invoke("compare", "known", "--publish"), "tracker=none", "--wandb")


def test_a_failed_send_is_one_warning_and_sync_sends_it_once(tmp_path, caplog):
    planned = store.build(tmp_path, outcome, SWEEP)
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")  # the database cannot be created: every MLflow call fails
    uri = f"sqlite:///{blocked / 'mlflow.db'}"
    caplog.set_level(logging.WARNING, logger="mixft.runner.tracking.mlflow")
    send_all(planned[:2], MlflowConfig(tracking_uri=uri))
    warnings = [r.getMessage() for r in caplog.records if r.name == "mixft.runner.tracking.mlflow"]
    assert len(warnings) == 2 and all("`mixft sync" in w for w in warnings), warnings
    for run in planned[:2]:
        assert "mlflow" in tracked.unsent(run_dir(run.id))

    result = invoke("sync", "--all")
    assert result.exit_code == 1 and result.stdout.count("failed:") == 2, result.output
    blocked.unlink()  # the store is back
    result = invoke("sync", "--all")
    assert result.exit_code == 0, result.output
    assert sorted(line.split()[0] for line in result.stdout.splitlines()) == sorted(p.id for p in planned[:2])
    assert not list(Path(store_root()).rglob(tracked.TRACKING))
    assert sorted(r.data.tags["mixft.run_id"] for r in mlflow_runs(uri)) == sorted(p.id for p in planned[:2])

    again = invoke("sync", "--all")
    assert again.exit_code == 0 and "nothing to send" in again.stdout
    assert len(mlflow_runs(uri)) == 2


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_failed_comparison_run_is_kept_and_sync_sends_it_once(tmp_path, caplog):
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")  # the database cannot be created: every MLflow call fails
    uri = f"sqlite:///{blocked / 'mlflow.db'}"
    store.build(
        tmp_path, outcome, SWEEP.replace("tracker=mlflow", f"tracker=mlflow, tracker.tracking_uri={uri}")
    )
    caplog.set_level(logging.WARNING, logger="mixft.runner.tracking.mlflow_side")
    published = invoke("compare", "known", "--publish")
    assert published.exit_code == 0 and "not published" in published.stderr, published.output
    [warning] = [r.getMessage() for r in caplog.records if r.name.startswith("mixft.runner.tracking")]
    assert "compare run" in warning and "`mixft sync --all`" in warning, warning
    folder = compare_dir("known")
    kept = tracked.unsent(folder)["mlflow"]["side"]
    assert kept["uri"] == uri and {"compare/tasks", "compare/comparisons"} <= set(kept["tables"])
    [image] = kept["images"].values()  # a copy in the store, not the plot a later compare rewrites
    assert (
        Path(image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        and (folder / "mlflow-unsent") in Path(image).parents
    )

    result = invoke("sync", "--all")
    assert result.exit_code == 1 and result.stdout.startswith("compare/known  failed:"), result.output
    blocked.unlink()  # the store is back
    result = invoke("sync", "--all")
    assert result.exit_code == 0 and result.stdout.splitlines() == ["compare/known  sent"], result.output
    [side] = mlflow_runs(uri)
    assert side.data.tags["mixft.kind"] == "compare" and side.info.status == "FINISHED"
    artifacts = [a.path for a in MlflowClient(uri).list_artifacts(side.info.run_id, "compare")]
    assert {"compare/tasks.json", "compare/comparisons.json", "compare/heatmap.png"} <= set(artifacts)
    rows_sent = json.loads(
        Path(
            MlflowClient(uri).download_artifacts(side.info.run_id, "compare/tasks.json", str(tmp_path))
        ).read_text()
    )
    assert rows_sent == kept["tables"]["compare/tasks"]
    assert not (folder / tracked.TRACKING).exists() and not (folder / "mlflow-unsent").exists()

    again = invoke("sync", "--all")
    assert again.exit_code == 0 and "nothing to send" in again.stdout, again.output
    side_run.send_side(kept | {"images": {}})  # the same side run sent again replaces the first
    assert [r.data.tags["mixft.side_id"] for r in mlflow_runs(uri)] == [kept["side_id"]]


def test_a_search_whose_server_is_down_keeps_its_rounds_for_sync(caplog):
    dead = f"http://127.0.0.1:{closed_port()}"
    where = log_search(a_search(), {"name": "mlflow", "tracking_uri": dead}, search_dir("search_smoke"))
    assert where is None
    kept = tracked.unsent(search_dir("search_smoke"))["mlflow"]
    assert kept["side"]["uri"] == dead and kept["side"]["kind"] == "search"
    assert [s["values"]["search/best_seen"] for s in kept["side"]["steps"]] == [0.125]
    result = invoke("sync", "--all")
    assert result.exit_code == 1 and result.stdout.startswith("searches/search_smoke  failed:"), result.output
    assert dead in result.stdout and "mlflow" in tracked.unsent(search_dir("search_smoke"))
