"""`mixft compare --wandb` (offline here: no credentials) and the W&B source's failure modes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mixft.runner.paths import run_dir, store_root
from mixft.runner.tracking.sync import offline_runs
from mixft.runner.tracking.tracker import tracking_config
from tests.compare import store
from tests.compare.test_compare import outcome
from tests.unit.helpers import assert_usage_error, invoke
from tests.wandb_log import isolate_wandb, read_offline


@pytest.fixture(autouse=True)
def no_credentials(tmp_path, monkeypatch):
    isolate_wandb(tmp_path, monkeypatch)


def test_wandb_logs_the_tables_and_heatmap_to_a_comparison_run_in_the_sweeps_group(tmp_path):
    store.build(tmp_path, outcome)
    result = invoke("compare", "known", "--wandb")
    assert result.exit_code == 0, result.output
    [folder] = offline_runs(store_root())
    assert folder.parent == store_root() / "compare" / "known" / "wandb"
    got = read_offline(folder)
    assert got.run["group"] == "known" and got.run["job_type"] == "compare"
    assert got.config["view"] == "tasks" and got.config["metric"] == "accuracy"
    rows = json.loads(invoke("compare", "known", "--view", "all", "--format", "json").stdout)["rows"]
    assert got.history["compare/comparisons._type"] == "table-file"
    assert got.history["compare/comparisons.nrows"] == len(rows)
    assert got.history["compare/tasks._type"] == "table-file"
    assert got.history["compare/heatmap._type"] == "image-file"
    assert any(path.endswith(".png") for path in got.files)
    assert (store_root() / "compare" / "known" / "heatmap.png").exists()
    assert got.exit_code == 0


def test_sync_all_finds_comparison_runs(tmp_path):
    store.build(tmp_path, outcome)
    assert invoke("compare", "known", "--wandb").exit_code == 0
    result = invoke("sync", "--all")
    assert "compare/known" in result.stdout  # listed for upload (which fails here: no credentials)


def test_source_wandb_without_credentials_is_one_line(tmp_path):
    store.build(tmp_path, outcome)
    assert_usage_error(invoke("compare", "known", "--source", "wandb"), "WANDB_API_KEY")


class FakeFile:
    """What `wandb.Api().run(...).file(name)` gives: a download into a folder."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def download(self, root: str, replace: bool, exist_ok: bool) -> None:
        if not self.source.exists():
            raise ValueError("file not found")  # wandb.errors.CommError in life
        target = Path(root) / "predictions" / self.source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.source, target)


class FakeRun:
    """A W&B run as the public API shows one of ours: flat config, summary, state, files."""

    def __init__(self, planned) -> None:
        folder = run_dir(planned.id)
        self.id, self.state, self.folder = planned.id, "finished", folder
        self.config = tracking_config(planned.config, planned.role, "known")
        self.summary = json.loads((folder / "metrics.json").read_text())

    def file(self, name: str) -> FakeFile:
        return FakeFile(self.folder / name)


def test_source_wandb_gives_the_same_comparison_as_the_store(tmp_path, monkeypatch):
    import wandb

    planned = store.build(tmp_path, outcome)
    from_store = json.loads(invoke("compare", "known", "--view", "all", "--format", "json").stdout)["rows"]
    asked = {}

    class FakeApi:
        def __init__(self, timeout: int) -> None: ...

        def runs(self, path: str, filters: dict) -> list[FakeRun]:
            asked.update(path=path, filters=filters)
            return [FakeRun(p) for p in planned]

    monkeypatch.setattr(wandb, "Api", FakeApi)
    monkeypatch.setenv("WANDB_API_KEY", "fake")
    result = invoke(
        "compare", "known", "--view", "all", "--format", "json", "--source", "wandb", "--entity", "lab"
    )
    assert result.exit_code == 0, result.output
    assert asked == {"path": "lab/mixft", "filters": {"group": "known"}}
    assert json.loads(result.stdout)["rows"] == from_store
