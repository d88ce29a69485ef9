"""`mixft compare --wandb` (offline here: no credentials) and the W&B source's failure modes."""

from __future__ import annotations

import json

import pytest

from mixft.runner.paths import store_root
from mixft.runner.tracking import offline_runs
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
