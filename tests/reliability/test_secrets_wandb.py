"""Secrets and W&B outages, end to end through `mixft sweep` and `mixft sync`.

One sweep runs with W&B online, credentials (canaries) in the environment and the server unreachable:
the runs must finish at once with local results, queue their W&B data offline in the run dirs, and
leave no canary anywhere in the store, the sweep's output, HOME or TMPDIR; `mixft sync` must then fail
per run in one line and keep the offline data for a later retry.
"""

from __future__ import annotations

import calendar
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mixft.cli.main import MixftGroup
from mixft.cli.sync import sync_command
from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve, role_of
from mixft.runner.paths import run_dir
from mixft.runner.plan.ids import ids_of
from mixft.runner.tracking import sync as syncing
from mixft.runner.tracking import wandb_init
from mixft.runner.tracking.sync import offline_runs
from mixft.runner.tracking.tracker import make_tracker
from tests.reliability.store import BASE, env_for, mixft, run_folder, run_ids, write_sweep
from tests.unit.helpers import assert_usage_error, invoke
from tests.wandb_log import isolate_wandb, read_offline

pytestmark = pytest.mark.smoke

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: refused at once, never the network
CANARIES = {
    "WANDB_API_KEY": "canarywandb" + "0" * 29,  # 40 characters, the length of a real key
    "HF_TOKEN": "hf_canaryhuggingface0042",
    "MY_SERVICE_TOKEN": "canary-service-0042",
    "S3_SECRET_KEY": "canary-s3-secret-0042",
}
BASE_OVERRIDES = [line.strip()[2:] for line in BASE.splitlines()[1:]] + ["mixture.tasks=[fpb]"]
# a W&B fallback costs this at most per run (measured: ~1 s refused; 30 s before the TCP probe)
FALLBACK_BUDGET_S = 10.0


def leaks(folder: Path) -> list[str]:
    """Files under `folder` holding any canary, binary files (the .wandb log) included."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {name}" for name, value in CANARIES.items() if value.encode() in data]
    return found


def leaked(outage: dict[str, Any]) -> list[str]:
    """Canaries in the store, or in the HOME and TMPDIR the sweep had (wandb's settings, sockets)."""
    return [hit for name in ("store", "home", "tmp") for hit in leaks(outage["root"] / name)]


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A sweep of three runs (two trained, the base model scored) during a W&B outage."""
    root = tmp_path_factory.mktemp("outage")
    sweep = write_sweep(root, "outage", [0], tasks="[fpb, twitter_sa]")
    sweep.write_text(sweep.read_text().replace("base_model: false", "base_model: true"))
    home, scratch = root / "home", root / "tmp"
    home.mkdir()
    scratch.mkdir()
    env = env_for(root / "store", **CANARIES, WANDB_BASE_URL=UNREACHABLE, NETRC=str(root / "no.netrc"))
    env |= {"HOME": str(home), "TMPDIR": str(scratch)}
    env.pop("WANDB_MODE")
    result = mixft(env, "sweep", str(sweep), "tracker=wandb", "tracker.mode=online", "--max-parallel", "2")
    return {
        "root": root,
        "store": root / "store",
        "sweep": sweep,
        "env": env,
        "result": result,
        "ids": run_ids(sweep),
    }


@pytest.mark.slow
def test_runs_finish_with_local_results_and_queue_wandb_offline(outage):
    result, store = outage["result"], outage["store"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(outage["ids"]) == 3
    for rid in outage["ids"]:
        folder = run_folder(store, rid)
        assert json.loads((folder / "status.json").read_text())["state"] == "done"
        metrics = json.loads((folder / "metrics.json").read_text())
        tasks = [p.stem for p in (folder / "predictions").glob("*.jsonl")]
        assert tasks and all(f"eval/{task}/accuracy" in metrics for task in tasks), metrics
        log = (folder / "run.log").read_text()
        assert "W&B: online start failed" in log and f"mixft sync {rid}" in log
        [queued] = offline_runs(folder)
        got = read_offline(queued)
        assert got.run["id"] == rid and got.exit_code == 0
        assert got.summary[f"eval/{tasks[0]}/accuracy"] == metrics[f"eval/{tasks[0]}/accuracy"]
        assert got.files == [f"predictions/{task}.jsonl" for task in sorted(tasks)]


@pytest.mark.slow
def test_the_offline_fallback_costs_seconds_not_the_init_timeout(outage):
    for rid in outage["ids"]:
        folder = run_folder(outage["store"], rid)
        started = json.loads((folder / "status.json").read_text())["started"]
        [line] = [ln for ln in (folder / "run.log").read_text().splitlines() if "online start failed" in ln]
        failed_at = time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")  # logging's local time
        cost = time.mktime(failed_at) - calendar.timegm(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ"))
        # status times are whole seconds: the fallback took at most cost + 1 s
        assert cost < FALLBACK_BUDGET_S, (rid, cost, line)


@pytest.mark.slow
def test_no_secret_lands_in_the_store_the_output_home_or_tmp(outage):
    result = outage["result"]
    assert any(p.suffix == ".wandb" for p in outage["store"].rglob("*"))
    assert not leaked(outage)
    output = result.stdout + result.stderr
    assert not [name for name, value in CANARIES.items() if value in output]


def sync(*args: str) -> Any:
    app = typer.Typer(cls=MixftGroup, add_completion=False)
    app.callback()(lambda: None)
    app.command("sync")(sync_command)
    return CliRunner().invoke(app, ["sync", *args])


@pytest.mark.slow
def test_sync_without_a_server_fails_per_run_and_keeps_the_offline_data(outage, monkeypatch):
    for name, value in outage["env"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setattr(syncing, "SYNC_TIMEOUT_S", 5.0)  # `wandb sync` retries a refused server
    logs = {
        p: p.read_bytes()
        for rid in outage["ids"]
        for f in offline_runs(run_folder(outage["store"], rid))
        for p in f.glob("*.wandb")
    }
    assert len(logs) == 3

    result = sync("--all")
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 and {line.split()[0] for line in lines} == set(outage["ids"])
    assert re.search(r"  failed: timed out after 5 s \(no network\?\); the offline run is kept", lines[0])
    assert all("skipped: an earlier upload timed out" in line for line in lines[1:])
    assert all(path.read_bytes() == data for path, data in logs.items())  # kept for a later retry
    assert not list(outage["store"].rglob("*.wandb.synced"))
    assert not [v for v in CANARIES.values() if v in result.output]
    assert not leaked(outage)


@pytest.mark.parametrize(
    "override",
    [
        "+training.sft_kwargs.hub_token=canary-cli-0042",
        # a secret inside a dict value passes the override check: the run dir refuses it
        "+training.sft_kwargs.model_init_kwargs={token:canary-cli-0042}",
    ],
)
def test_an_override_that_looks_like_a_secret_is_refused(tmp_path, override):
    sweep = write_sweep(tmp_path, "refused", [0])
    for command in (["sweep", str(sweep)], ["run", *BASE_OVERRIDES]):
        result = invoke(*command, override)
        assert_usage_error(result, "looks like a secret", "environment")
        assert "canary" not in result.output
    store = tmp_path / "store"  # conftest's MIXFT_HOME
    assert not [p for p in store.rglob("*") if p.is_file() and b"canary" in p.read_bytes()]
    assert not (store / "runs").exists() or not any((store / "runs").iterdir())


def test_a_server_that_accepts_but_never_answers_costs_the_init_timeout(tmp_path, monkeypatch):
    isolate_wandb(tmp_path, monkeypatch)
    silent = socket.create_server(("127.0.0.1", 0), backlog=16)  # connects (kernel backlog), no reply
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setitem(wandb_init.SETTINGS, "init_timeout", 3.0)
    cfg = resolve(load_config(["tracker=wandb", "tracker.mode=online", "mixture.tasks=[fpb]"]))
    rid = ids_of(cfg).run
    tracker = make_tracker(cfg, rid, run_dir(rid), role_of(cfg), None)
    started = time.perf_counter()
    try:
        tracker.start()
        took = time.perf_counter() - started
        tracker.log_summary({"eval/fpb/accuracy": 0.5})
        tracker.finish(True)
    finally:
        silent.close()
    assert 3.0 <= took < 3.0 + FALLBACK_BUDGET_S, took  # the init timeout, then offline at once
    [queued] = offline_runs(run_dir(rid))
    assert read_offline(queued).summary["eval/fpb/accuracy"] == 0.5
