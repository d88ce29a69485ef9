"""The pieces behind the end-to-end fault tests, each on its own: fast, no training."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest
import typer

from mixft.cli.sweep import _finish
from mixft.runner.config.executors import LocalConfig
from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve, role_of
from mixft.runner.config.secrets import secret_paths
from mixft.runner.errors import ConfigError
from mixft.runner.execute.executors.local import Runner
from mixft.runner.execute.executors.processes import PRELOAD, Job
from mixft.runner.execute.executors.slots import Slot
from mixft.runner.execute.sweep import Outcome, summarise
from mixft.runner.paths import run_dir, training_dir
from mixft.runner.plan.grid import Patch, Plan, PlannedRun
from mixft.runner.plan.ids import ids_of
from mixft.runner.store import rundir
from mixft.runner.store import status as states
from mixft.runner.store.claims import holder, process_start, try_claim
from mixft.runner.store.rows import progress, run_row
from mixft.runner.store.status import UNRECORDED, current_status, seconds_since
from mixft.runner.tracking.wandb_init import probe_server
from mixft.runner.train.trainer import run_loss
from tests.reliability.store import REPO

RUN = ["mixture.tasks=[fpb]", "data.samples=true"]


def planned(*overrides: str) -> PlannedRun:
    cfg = resolve(load_config([*RUN, *overrides]))
    ids = ids_of(cfg)
    return PlannedRun(ids.run, role_of(cfg), cfg, hydra=(*RUN, *overrides), patch=Patch(), axes={}, ids=ids)


def write(run: PlannedRun, sweep: str | None) -> None:
    """The run's folders as a sweep plans them: its training's and its own."""
    assert run.ids is not None
    rundir.write_planned(run.id, run.config, run.overrides, run.role, sweep, run.ids.training_facts())


def prepared(*overrides: str) -> tuple[str, Path]:
    run = planned(*overrides)
    write(run, "units")
    return run.id, run_dir(run.id)


@pytest.mark.parametrize(
    "text",
    ["", '{"state": "done", "attem', '"done"', "[]", "{}", "null", '{"state": "finished"}', "\0\0\0\0"],
)
def test_an_unreadable_status_reads_as_interrupted(text):
    rid, folder = prepared()
    (folder / "status.json").write_text(text)
    status = states.read_status(folder)
    assert status["state"] == "interrupted" and status["error"] == "status.json was unreadable"
    assert run_row(rid)["state"] == "interrupted"
    assert states.set_state(folder, "running")["attempts"] == 1  # and it can run again


def test_a_missing_status_reads_as_pending():
    assert states.read_status(Path("/nonexistent/run"))["state"] == "pending"


def test_running_without_a_live_holder_shows_as_interrupted():
    rid, folder = prepared()
    states.set_state(folder, "running")
    assert current_status(folder, None)["state"] == "interrupted"
    assert run_row(rid)["error"] == UNRECORDED
    claim = try_claim(folder)  # a live holder: this process
    try:
        row = run_row(rid)
        assert row["state"] == "running" and row["holder"]
    finally:
        claim.release()


@pytest.mark.parametrize("text", ["[]", '"x"', '{"heartbeat": "soon", "pid": []}', "{"])
def test_corrupt_claim_run_and_progress_files_neither_crash_status_nor_block_the_run(text):
    run = planned()
    rid, folder = prepared()
    training = training_dir(rid)
    for place in (folder, training):
        for name in ("claim.json", "run.json"):
            (place / name).write_text(text)
    row = run_row(rid)
    assert (row["state"], row["holder"], row["model"]) == ("pending", None, None)
    assert (row["training_state"], row["weights"]) == ("pending", False)
    claims = [try_claim(folder), try_claim(training)]  # a corrupt claim holds nothing
    assert None not in claims
    try:
        states.set_state(folder, "running")
        states.set_state(training, "running")
        (training / "progress.json").write_text(text)
        (training / "train.log").write_text(text + "\n")
        row = run_row(rid)
        assert (row["state"], row["training_state"], row["progress"]) == ("running", "running", None)
    finally:
        for claim in claims:
            claim.release()
    write(run, "units")  # run.json anew
    assert rundir.read_meta(folder)["sweeps"] == rundir.read_meta(training)["sweeps"] == ["units"]
    assert rundir.read_meta(training)["kind"] == "training"


def test_a_secret_nested_in_a_value_is_refused_before_anything_is_written():
    run = planned()
    run.config.training.sft_kwargs["model_init_kwargs"] = {"token": "canary-nested-0042"}
    with pytest.raises(
        ConfigError, match="'training.sft_kwargs.model_init_kwargs.token' looks like a secret"
    ):
        write(run, None)
    assert not run_dir(run.id).exists() and not training_dir(run.id).exists()
    assert secret_paths({"eval": {"max_new_tokens": 8}, "a": [{"api_key": ""}]}) == []


def test_the_whole_run_loss_survives_a_resume():
    history = [{"step": s, "loss": float(s)} for s in range(1, 7)]  # logging_steps=1, a loss of s at step s
    assert run_loss(history, 0, 6, 3.5) == 3.5  # a fresh start: transformers' own mean
    assert run_loss(history, 2, 4, (3 + 4 + 5 + 6) / 4) == pytest.approx(3.5)  # resumed at 2
    assert run_loss(history, 6, 0, 0.0) == pytest.approx(3.5)  # resumed at the end: nothing trained
    sparse = [{"step": 5, "loss": 3.0}, {"step": 7, "train_loss": 9.0}]  # logging_steps=5
    assert run_loss(sparse, 6, 0, 0.0) == pytest.approx(3.0)  # step 6 was never logged: left out
    assert run_loss([], 6, 0, 0.0) is None


class FullDisk:
    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_state_the_sweep_cannot_write_is_reported_not_raised(monkeypatch):
    rid, folder = prepared()
    states.set_state(folder, "running")
    events: list[tuple[str, str]] = []
    runner = Runner(Plan("units", [planned()]), [], LocalConfig(retries=3), lambda *e: events.append(e))
    runner.active[rid] = Job(rid, Slot("cpu0"))
    monkeypatch.setattr(states, "set_state", FullDisk())  # what record_end writes with
    pending: deque[str] = deque()
    runner._finish(rid, 1, pending)
    [(event, text)] = events
    assert event == "failed" and "could not be recorded" in text and "No space left on device" in text
    assert not pending  # not retried at once onto the same full disk
    outcome = summarise(runner.plan, retries=3)
    assert outcome.counts["interrupted"] == 1 and outcome.unfinished == [(rid, f"interrupted: {UNRECORDED}")]


def test_a_sweep_with_runs_left_to_resume_exits_1(capsys):
    with pytest.raises(typer.Exit) as stopped:
        _finish(Outcome({"done": 1, "interrupted": 1}, unfinished=[("abc", "interrupted: signal 15")]))
    assert stopped.value.exit_code == 1
    assert "not done abc: interrupted: signal 15; run the sweep again" in capsys.readouterr().err


def test_an_unreachable_wandb_server_is_found_in_seconds(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name.lower(), raising=False)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    started = time.perf_counter()
    with pytest.raises(ConnectionError, match="cannot connect to 127.0.0.1:9"):
        probe_server()
    assert time.perf_counter() - started < 2
    monkeypatch.setenv("NO_PROXY", "localhost")  # routes nothing through a proxy: still probed
    with pytest.raises(ConnectionError):
        probe_server()
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # behind a proxy wandb decides
    probe_server()


def test_run_processes_fork_with_the_training_stack_already_imported():
    # what train() imports when it is called: nothing of it may be left to each run process
    code = (
        "import importlib, sys\n"
        f"for name in {PRELOAD!r}: importlib.import_module(name)\n"
        "before = set(sys.modules)\n"
        "from trl import SFTTrainer\n"
        "from transformers import PrinterCallback, TrainerCallback\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(('transformers', 'trl'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"')) == []


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Australia/Sydney"]
)  # one keeps summer time on any date
def test_elapsed_time_and_eta_are_right_in_any_time_zone(zone, monkeypatch):
    # defect: hand-parsed timestamps put elapsed time and ETA an hour off under daylight-saving time
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
        assert seconds_since(started) == pytest.approx(600, abs=5)
        rid, _ = prepared()
        training = training_dir(rid)
        rundir.write_progress(training, 100)
        rundir.append_train_log(training, {"step": 25, "loss": 1.0})
        fraction, eta = progress(training, started)
        assert fraction == 0.25 and eta == pytest.approx(1800, abs=15)  # 600 s for a quarter
    finally:
        monkeypatch.undo()
        time.tzset()


def claim_of(folder: Path, pid: int, started: int | None) -> None:
    """A fresh claim.json for `pid` on this host, as try_claim writes it."""
    beat = time.time()
    claim = {"token": "t", "host": socket.gethostname(), "pid": pid, "started": started}
    (folder / "claim.json").write_text(json.dumps(claim | {"since": beat, "heartbeat": beat}))


def test_a_zombie_or_a_reused_pid_holds_no_claim(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 30
    while process_state(child.pid) != "Z":  # exited, not yet reaped: os.kill(pid, 0) still succeeds
        assert time.time() < deadline
        time.sleep(0.05)
    try:
        claim_of(folder, child.pid, process_start(child.pid))
        assert holder(folder) is None  # dead at once, not after STALE_S
    finally:
        child.wait()
    claim_of(folder, os.getpid(), process_start(os.getpid()))
    assert holder(folder) is not None  # this very process: alive
    claim_of(folder, os.getpid(), (process_start(os.getpid()) or 0) + 1)
    assert holder(folder) is None  # the pid is this process's, but the claim's process started earlier


def process_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
