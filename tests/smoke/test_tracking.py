"""W&B tracking, offline: what lands in the run dir, resume, fallbacks, secrets, and `mixft sync`.

wandb 0.31 keeps an offline run as one transaction log (run_dir/wandb/offline-run-*/run-ID.wandb), not
as files/config.yaml and files/wandb-summary.json, so these tests read the log back.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mixft.cli.main import MixftGroup
from mixft.cli.sync import sync_command
from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve, role_of
from mixft.runner.paths import run_dir, store_root
from mixft.runner.plan.ids import ids_of
from mixft.runner.store import status as states
from mixft.runner.tracking import sync as syncing
from mixft.runner.tracking import wandb_init
from mixft.runner.tracking.base import RunTracking
from mixft.runner.tracking.sync import offline_runs, sync
from mixft.runner.tracking.tracker import make_tracker, tracking_config
from mixft.runner.tracking.wandb import WandbRunTracking
from tests.wandb_log import isolate_wandb, read_offline

pytestmark = pytest.mark.smoke

RUN = [
    "tracker=wandb",
    "tracker.mode=offline",
    "tracker.tags=[study]",
    "mixture.tasks=[fpb,headline]",
    "regularizer=general",
    "seed=3",
]
CANARIES = ("canary-hf-123", "canary-x-456")
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: refused at once, never the network


@pytest.fixture(autouse=True)
def no_credentials(tmp_path, monkeypatch):
    isolate_wandb(tmp_path, monkeypatch)


def tracker_for(*overrides: str, sweep: str | None = "smoke") -> tuple[Any, str]:
    cfg = resolve(load_config([*RUN, *overrides]))
    rid = ids_of(cfg).run
    return make_tracker(cfg, rid, run_dir(rid), role_of(cfg), sweep), rid


def train_and_finish(tracker: Any, losses: tuple[float, ...] = (2.0, 1.5, 1.0), ok: bool = True) -> None:
    """What a run does: start, log steps as the Trainer's WandbCallback would, summary, finish."""
    import wandb

    tracker.start()
    assert tracker.report_to == "wandb"
    for step, loss in enumerate(losses):
        wandb.log({"train/loss": loss, "train/global_step": step})
    predictions = tracker.run_dir / "predictions"
    predictions.mkdir(parents=True, exist_ok=True)
    (predictions / "fpb.jsonl").write_text('{"index": 0, "correct": true}\n')
    tracker.log_summary({"eval/fpb/accuracy": 0.75, "eval/headline/f1": 0.5})
    tracker.finish(ok)
    assert tracker.report_to == "none"


def test_offline_run_holds_the_axes_the_config_and_the_summary():
    tracker, rid = tracker_for()
    assert isinstance(tracker, WandbRunTracking)
    train_and_finish(tracker)

    [folder] = offline_runs(run_dir(rid))
    assert folder.parent == run_dir(rid) / "wandb" and folder.name.startswith("offline-run-")
    got = read_offline(folder)
    assert got.run == {
        "id": rid,
        "name": "tiny · fpb+headline · general · s3",
        "group": "smoke",
        "job_type": "mixture",
        "project": "mixft",
        "tags": ["study", "tiny", "mixture", "general"],
    }
    axes = {"model": "tiny", "tasks": ["fpb", "headline"], "regularizer": "general", "seed": 3}
    assert got.config.items() >= (axes | {"role": "mixture", "sweep": "smoke"}).items()
    assert got.config["training.learning_rate"] == tracker.cfg.training.learning_rate
    assert got.config["regularizer.sources.open_orca"] == 1.0
    # the catalogue shrinks to names: no prompts, sources or label maps
    assert got.config["task"] == ["fiqa_sa", "fpb", "headline", "open_orca"]
    assert not [k for k in got.config if k.startswith("task.")]
    assert got.summary["eval/fpb/accuracy"] == 0.75 and got.summary["eval/headline/f1"] == 0.5
    assert got.summary["train/loss"] == 1.0  # the last logged step
    assert got.files == ["predictions/fpb.jsonl"]  # for `mixft compare --source wandb`
    assert got.exit_code == 0


def test_a_resumed_run_continues_the_same_wandb_run():
    first, rid = tracker_for()
    train_and_finish(first, losses=(2.0, 1.8), ok=False)
    second, _ = tracker_for()
    train_and_finish(second, losses=(1.2,))

    folders = offline_runs(run_dir(rid))
    assert len(folders) == 2 and all(rid in f.name for f in folders)
    pieces = [read_offline(f) for f in folders]
    assert [p.run["id"] for p in pieces] == [rid, rid]
    assert [p.exit_code for p in pieces] == [1, 0]  # the failed attempt is marked failed
    assert [p.summary["train/loss"] for p in pieces] == [1.8, 1.2]


def test_the_trainer_callback_logs_into_the_trackers_run():
    import wandb
    from transformers import TrainerControl, TrainerState, TrainingArguments
    from transformers.integrations import WandbCallback

    tracker, rid = tracker_for()
    tracker.start()
    args = TrainingArguments(
        output_dir=str(run_dir(rid) / "checkpoints"), report_to=tracker.report_to, learning_rate=1e-3
    )
    state, control, callback = TrainerState(), TrainerControl(), WandbCallback()
    callback.on_train_begin(args, state, control, model=None)
    assert wandb.run is not None and wandb.run.id == rid  # reused, not a run of its own
    for step, loss in enumerate([2.0, 1.0], start=1):
        state.global_step = step
        callback.on_log(args, state, control, logs={"loss": loss})
    tracker.finish(ok=True)

    [folder] = offline_runs(run_dir(rid))
    got = read_offline(folder)
    assert got.summary["train/loss"] == 1.0 and got.summary["train/global_step"] == 2
    assert got.config["learning_rate"] == 1e-3 and got.config["role"] == "mixture"


def test_auto_without_credentials_logs_offline_with_one_notice(caplog):
    caplog.set_level(logging.INFO, logger="mixft.runner.tracking.wandb_init")
    tracker, rid = tracker_for("tracker.mode=auto")
    train_and_finish(tracker)

    notices = [r for r in caplog.records if r.name == "mixft.runner.tracking.wandb_init"]
    assert len(notices) == 1, [r.getMessage() for r in notices]
    assert "offline" in notices[0].getMessage() and f"mixft sync {rid}" in notices[0].getMessage()
    assert len(offline_runs(run_dir(rid))) == 1


def test_online_that_cannot_connect_falls_back_to_offline(monkeypatch, caplog):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", UNREACHABLE)
    monkeypatch.setitem(wandb_init.SETTINGS, "init_timeout", 3.0)
    tracker, rid = tracker_for("tracker.mode=online")
    train_and_finish(tracker)

    warnings = [r for r in caplog.records if r.name == "mixft.runner.tracking.wandb_init"]
    assert len(warnings) == 1 and "online start failed" in warnings[0].getMessage()
    [folder] = offline_runs(run_dir(rid))
    assert read_offline(folder).summary["eval/fpb/accuracy"] == 0.75


class BrokenRun:
    """A run whose every call fails, as with a corrupt wandb install or a full disk."""

    class summary:  # mirrors `run.summary`
        @staticmethod
        def update(metrics: dict[str, float]) -> None:
            raise OSError("disk full")

    def finish(self, exit_code: int | None = None) -> None:
        raise RuntimeError("service died")


def test_wandb_failures_never_escape(monkeypatch, caplog):
    import wandb

    def refuse(**kwargs: Any) -> Any:
        raise RuntimeError("wandb.init exploded")

    monkeypatch.setattr(wandb, "init", refuse)
    tracker, _ = tracker_for()
    tracker.start()
    assert tracker.report_to == "none"  # the Trainer must not start a stray run of its own
    tracker.log_summary({"eval/fpb/accuracy": 0.5})
    tracker.finish(ok=True)

    monkeypatch.setattr(wandb, "init", lambda **kwargs: BrokenRun())
    tracker.start()
    assert tracker.report_to == "wandb"
    tracker.log_summary({"eval/fpb/accuracy": 0.5})
    tracker.finish(ok=True)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 3, messages
    assert "exploded" in messages[0] and "disk full" in messages[1] and "service died" in messages[2]


@pytest.mark.parametrize("override", ["tracker=none", "tracker.mode=disabled"])
def test_none_and_disabled_track_nothing(override):
    tracker, rid = tracker_for(override)
    assert type(tracker) is RunTracking and tracker.report_to == "none"
    tracker.start()
    tracker.log_summary({"eval/fpb/accuracy": 0.5})
    tracker.finish(ok=False)
    assert not (run_dir(rid) / "wandb").exists()


# A whole tracked run in a fresh process, as the entry point runs it: a clean stdout for wandb's console
# capture, and a command line that carries a token.
SECRET_RUN = """
import sys
from mixft.runner.config.load import load_config
from mixft.runner.paths import run_dir
from mixft.runner.config.run import resolve, role_of
from mixft.runner.plan.ids import ids_of
from mixft.runner.tracking.tracker import make_tracker

cfg = resolve(load_config(sys.argv[1:-1]))
rid = ids_of(cfg).run
tracker = make_tracker(cfg, rid, run_dir(rid), role_of(cfg), None)
tracker.start()
print("token", *sys.argv[-1:])
tracker.log_summary({"eval/fpb/accuracy": 0.5})
tracker.finish(True)
print(rid)
"""


def test_secrets_never_reach_the_run_dir(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", CANARIES[0])
    monkeypatch.setenv("MY_SERVICE_TOKEN", CANARIES[1])
    overrides = [*RUN, "tracker.mode=auto"]  # a secret as an override is refused outright (test_run.py)
    args = [sys.executable, "-c", SECRET_RUN, *overrides, f"--hub-token={CANARIES[1]}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    rid = done.stdout.split()[-1]

    files = [p for p in run_dir(rid).rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.suffix == ".wandb" for p in files)
    leaks = [str(p) for p in files for c in CANARIES if c.encode() in p.read_bytes()]
    assert not leaks
    config = read_offline(offline_runs(run_dir(rid))[0]).config
    assert config["training.sft_kwargs"] == {}


def test_tracking_config_drops_secret_looking_keys():
    cfg = resolve(load_config(RUN))
    # overrides cannot carry secrets (refused at load); the guard still holds for configs built in code
    cfg.training.sft_kwargs.update({"api_key": "k", "Password": "p"})
    config = tracking_config(cfg, "mixture", None)
    assert not [k for k in config if k.lower().endswith(("key", "password"))]
    assert config["eval.max_new_tokens"] == cfg.eval.max_new_tokens  # "tokens" is not a secret
    assert config["sweep"] is None and config["role"] == "mixture"


def test_sync_without_network_reports_each_run():
    tracker, rid = tracker_for()
    train_and_finish(tracker)

    [folder] = offline_runs(run_dir(rid))
    assert offline_runs(store_root()) == offline_runs(store_root() / "runs") == [folder]
    [(path, ok, message)] = sync([folder], timeout_s=60)
    assert (path, ok) == (folder, False)
    assert "API key" in message and "\n" not in message
    assert not list(folder.glob("*.synced"))


def two_runs_and_a_dead_server(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two tracked runs, then credentials for a server that never answers."""
    rids = []
    for seed in (1, 2):
        tracker, rid = tracker_for(f"seed={seed}")
        train_and_finish(tracker)
        rids.append(rid)
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", UNREACHABLE)
    monkeypatch.setattr(syncing, "SYNC_TIMEOUT_S", 4.0)
    return rids


def test_sync_times_out_once_then_skips(monkeypatch):
    rids = two_runs_and_a_dead_server(monkeypatch)
    folders = [f for rid in rids for f in offline_runs(run_dir(rid))]

    results = sync(folders)
    assert [ok for _, ok, _ in results] == [False, False]
    assert results[0][2].startswith("timed out") and results[1][2].startswith("skipped")


def cli(*args: str) -> Any:
    app = typer.Typer(cls=MixftGroup, add_completion=False)
    app.callback()(lambda: None)
    app.command("sync")(sync_command)
    return CliRunner().invoke(app, ["sync", *args])


def test_sync_command_prints_one_line_per_run_and_fails_without_credentials():
    tracker, rid = tracker_for()
    train_and_finish(tracker)
    _, base = tracker_for("mixture.tasks=[]", "regularizer=none")  # planned, never tracked
    run_dir(base).mkdir(parents=True)

    result = cli(rid, base)
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(f"{rid}  failed:") and "API key" in lines[0]
    assert lines[1] == f"{base}  nothing to upload (no offline W&B run)"

    result = cli("--all")
    assert result.exit_code == 1 and result.stdout.strip().splitlines()[0].startswith(f"{rid}  failed:")


def test_sync_command_stops_waiting_once_the_network_is_down(monkeypatch):
    first, second = two_runs_and_a_dead_server(monkeypatch)
    result = cli(first, second)
    assert result.exit_code == 1
    assert result.stdout.strip().splitlines() == [
        f"{first}  failed: timed out after 4 s (no network?); the offline run is kept, retry later",
        f"{second}  skipped: an earlier upload timed out (no network?)",
    ]


def test_sync_command_skips_running_runs_and_rejects_bad_input():
    tracker, rid = tracker_for()
    train_and_finish(tracker)
    states.set_state(run_dir(rid), "running")
    result = cli(rid)
    assert result.exit_code == 0 and "still running" in result.stdout

    for args, fragment in [((), "--all"), (("--all", rid), "--all"), ((rid[:-1] + "z",), "unknown run")]:
        result = cli(*args)
        assert result.exit_code == 2 and fragment in result.stderr, result.output
        assert len(result.stderr.strip().splitlines()) == 1
