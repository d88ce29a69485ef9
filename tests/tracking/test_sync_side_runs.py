"""`mixft sync --all` uploads a search's offline W&B run (searches/NAME/wandb) beside the runs', once.

The upload itself is a stub of the `wandb sync` command line (a `wandb` package first on PYTHONPATH,
so `python -m wandb sync FOLDER...` runs it): it records its arguments and marks each log synced, as
wandb does with run-ID.wandb.synced.
"""

from __future__ import annotations

import json

import pytest

from mixft.runner.paths import search_dir, store_root
from mixft.runner.plan.candidates import Mixture
from mixft.runner.plan.search_spec import SearchSettings
from mixft.runner.search.state import Observation, SearchState
from mixft.runner.search.surrogate import Prediction
from mixft.runner.search.wandb_log import log_search
from mixft.runner.tracking.sync import offline_runs
from tests.unit.helpers import invoke
from tests.wandb_log import isolate_wandb, read_offline

STUB = """\
import json, os, pathlib, sys
with open(os.environ["WANDB_STUB_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
for folder in sys.argv[2:]:
    for run_log in pathlib.Path(folder).glob("*.wandb"):
        pathlib.Path(f"{run_log}.synced").touch()
print("wandb: Syncing: https://wandb.example/run ... done.")
"""


@pytest.fixture
def stubbed_wandb_sync(tmp_path, monkeypatch):
    package = tmp_path / "stub" / "wandb"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(STUB)
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    monkeypatch.setenv("WANDB_STUB_LOG", str(tmp_path / "stub.log"))
    return tmp_path / "stub.log"


def a_search() -> SearchState:
    pair = Mixture(("fpb", "headline"), (0.5, 0.5))
    return SearchState(
        name="search_smoke",
        settings=SearchSettings(),
        sources=["fpb", "headline"],
        targets=["fpb"],
        seed=0,
        baselines={"fpb": 0.5},
        baseline_scores={"fpb": {"fpb": 0.5}},
        baseline_runs={"fpb": "aaaa-bbbb"},
        observations=[Observation(pair, "cccc-dddd", 1, 0.125, {"fpb": 0.625})],
        predictions=[Prediction(pair, 0.125, 0.0, 0.25, "observed", {})],
    )


def test_sync_all_uploads_a_searchs_offline_wandb_run_once(tmp_path, monkeypatch, stubbed_wandb_sync):
    isolate_wandb(tmp_path, monkeypatch)
    where = log_search(a_search(), {"name": "wandb", "mode": "offline"}, search_dir("search_smoke"))
    [folder] = offline_runs(store_root())
    assert where == str(folder) and folder.parent == search_dir("search_smoke") / "wandb"
    got = read_offline(folder)
    assert got.run["group"] == "search_smoke" and got.run["job_type"] == "search"
    assert got.history["search/best_seen"] == 0.125 and got.history["search/predicted_high"] == 0.25

    result = invoke("sync", "--all")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["searches/search_smoke  uploaded"]
    calls = [json.loads(line) for line in stubbed_wandb_sync.read_text().splitlines()]
    assert calls == [["sync", str(folder)]]

    again = invoke("sync", "--all")
    assert again.exit_code == 0 and again.stdout.splitlines() == ["searches/search_smoke  already uploaded"]
    assert len(stubbed_wandb_sync.read_text().splitlines()) == 1  # not sent twice
