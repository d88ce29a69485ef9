"""One run over two CPU processes: DDP over gloo, and DeepSpeed ZeRO-2 with optimizer offload.

run: make test-all    (or: python -m pytest tests/multiproc)

Each run goes through `mixft sweep --procs-per-run 2` as a person runs it: torchrun starts two ranks
on a rendezvous port of the run's own. They must form one process group (train/world_size 2: a rank
that trains alone would record 1), train the loss curve of one process with the same global batch,
leave one writer in the store, die with their launcher, and resume from the run's checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.store import (
    BASE,
    REPO,
    env_for,
    mixft,
    run_folder,
    run_ids,
    status_file,
    training_folder,
)

pytestmark = [pytest.mark.smoke, pytest.mark.slow]

# 2 processes x 16 rows a step against 1 process x 32 rows: the same global batch of the same rows
# (accelerate hands rank r every r-th batch of 16 that the one seeded sampler draws), so the same
# loss at every step up to float32 sums taken in another order. Measured: 5e-7 apart with DDP, 8e-6
# with DeepSpeed (its CPU Adam on the offloaded optimizer state).
LOSS_RTOL = 1e-4
ENTRY = "mixft.runner.execute.entry"


def sweep_file(folder: Path, name: str, seeds: list[int], steps: int = 6, extra: str = "") -> Path:
    """Single-task fpb runs, one per seed, `steps` steps, a checkpoint every 2 (or as `extra` says)."""
    path = folder / f"{name}.yaml"
    base = BASE.replace("training.max_steps=6", f"training.max_steps={steps}")
    path.write_text(
        f"# run: mixft sweep {path.name}\nname: {name}\n"
        f"mixtures: {{tasks: [fpb], generators: [singles]}}\nseeds: {seeds}\n"
        f"baselines: false\nbase_model: false\n{base}{extra}"
    )
    return path


def sweep(env: dict[str, str], path: Path, *args: str) -> None:
    done = mixft(env, "sweep", str(path), *args, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr


def train_log(store: Path, rid: str) -> list[dict[str, Any]]:
    """The training's per-step log entries (those with a loss)."""
    lines = (training_folder(store, rid) / "train.log").read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if "loss" in entry]


def metrics(store: Path, rid: str) -> dict[str, float]:
    return json.loads((run_folder(store, rid) / "metrics.json").read_text())


def rendezvous(store: Path, rid: str) -> set[str]:
    """The rendezvous addresses the run's ranks logged (run.log, each attempt appended)."""
    text = (run_folder(store, rid) / "run.log").read_text()
    return set(re.findall(r"rank \d of 2, rendezvous (\S+)", text))


def assert_same_curve(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [e["step"] for e in got] == [e["step"] for e in want]
    for a, b in zip(got, want, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=LOSS_RTOL), (a["step"], a["loss"], b["loss"])
        assert a["num_input_tokens_seen"] == b["num_input_tokens_seen"], a["step"]  # the same rows


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference: one process, 32 rows a step, in a store the other runs of this module share."""
    folder = tmp_path_factory.mktemp("multiproc")
    store, env = folder / "store", env_for(folder / "store")
    path = sweep_file(folder, "one", [0], extra="  - training.per_device_train_batch_size=32\n")
    sweep(env, path)
    rid = run_ids(path)[0]
    assert metrics(store, rid)["train/world_size"] == 1.0
    return {"folder": folder, "store": store, "env": env, "log": train_log(store, rid)}


def test_two_processes_train_one_run_with_the_loss_curve_of_one_process(one_process):
    store, env = one_process["store"], one_process["env"]
    path = sweep_file(one_process["folder"], "ddp", [0])  # 16 rows a step in each of 2 processes
    sweep(env, path, "--procs-per-run", "2")
    rid = run_ids(path)[0]
    got = metrics(store, rid)
    assert got["train/world_size"] == 2.0 and got["train/steps"] == 6.0
    # one writer: each step logged once (by rank 0), the evaluation scored once
    log = train_log(store, rid)
    assert [e["step"] for e in log] == [1, 2, 3, 4, 5, 6]
    assert_same_curve(log, one_process["log"])
    assert len((run_folder(store, rid) / "predictions" / "fpb.jsonl").read_text().splitlines()) == 8
    assert status_file(store, rid)["attempts"] == 1
    assert len(rendezvous(store, rid)) == 1


def test_deepspeed_zero2_with_optimizer_offload_trains_over_two_cpu_processes(one_process):
    store, env = one_process["store"], one_process["env"]
    extra = "  - training.deepspeed=zero2_offload\n"
    path = sweep_file(one_process["folder"], "zero2", [0], extra=extra)
    sweep(env, path, "--procs-per-run", "2")
    rid = run_ids(path)[0]
    assert metrics(store, rid)["train/world_size"] == 2.0
    assert_same_curve(train_log(store, rid), one_process["log"])
    # DeepSpeed's own checkpoint: the ZeRO-2 optimizer state partitioned over the two ranks
    step = training_folder(store, rid) / "checkpoints" / "checkpoint-6" / "global_step6"
    assert sorted(p.name for p in step.glob("zero_pp_rank_*_optim_states.pt")) == [
        "zero_pp_rank_0_mp_rank_00_optim_states.pt",
        "zero_pp_rank_1_mp_rank_00_optim_states.pt",
    ]
    assert (training_folder(store, rid) / "model" / "model.safetensors").is_file()


def processes(rid: str) -> dict[int, str]:
    """Live processes of the run on this host, pid -> command line (launcher and ranks)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if rid in cmd and ENTRY in cmd and state not in ("Z", "X"):
            found[int(proc.name)] = cmd
    return found


def wait_for(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.time() + timeout_s
    while not check():
        assert time.time() < deadline, what
        time.sleep(0.1)


def test_a_run_whose_process_group_is_killed_resumes_from_its_checkpoint_and_trains_once(one_process):
    store, env = one_process["store"], one_process["env"]
    path = sweep_file(one_process["folder"], "killed", [2], steps=40, extra="  - training.save_steps=5\n")
    rid = run_ids(path)[0]
    cmd = [sys.executable, "-m", "mixft.cli.main", "sweep", str(path), "--procs-per-run", "2"]
    child = subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    checkpoint = training_folder(store, rid) / "checkpoints" / "checkpoint-10" / "trainer_state.json"
    wait_for(checkpoint.exists, 600, "no checkpoint-10")
    running = processes(rid)
    launcher = [pid for pid, cmd in running.items() if "torch.distributed.run" in cmd]
    assert len(launcher) == 1 and len(running) == 3, running  # torchrun and its two ranks
    os.killpg(os.getpgid(launcher[0]), signal.SIGKILL)
    # the ranks run in sessions of their own (torchrun's doing): they must die with their launcher
    wait_for(lambda: not processes(rid), 15, "ranks outlived their launcher")
    out = child.communicate(timeout=120)[0]
    # a SIGKILL is a fault of the machine (the kernel's OOM killer): interrupted, and a plain re-run resumes it
    assert child.returncode == 1 and f"not done {rid}: interrupted: killed by SIGKILL" in out, out
    sweep(env, path, "--procs-per-run", "2")
    got = metrics(store, rid)
    assert got["train/world_size"] == 2.0 and got["train/steps"] == 40.0
    resumed = int(got["train/resumed_from_step"])
    assert resumed >= 10 and resumed % 5 == 0 and resumed < 40, resumed
    training = status_file(store, rid, training=True)
    assert training["state"] == "done" and [h["state"] for h in training["history"]].count("done") == 1
    # the second attempt trained the steps after its checkpoint once each: no step past 40, none twice
    steps = [e["step"] for e in train_log(store, rid)]
    assert steps[-(40 - resumed) :] == list(range(resumed + 1, 41)) and max(steps) == 40


def test_two_runs_over_two_processes_at_once_meet_on_ports_of_their_own(one_process):
    store, env = one_process["store"], one_process["env"]
    paths = [sweep_file(one_process["folder"], f"side{seed}", [seed], steps=4) for seed in (3, 4)]
    cmds = [[sys.executable, "-m", "mixft.cli.main", "sweep", str(p), "--procs-per-run", "2"] for p in paths]
    children = [
        subprocess.Popen(c, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for c in cmds
    ]
    for child in children:
        out = child.communicate(timeout=900)[0]
        assert child.returncode == 0, out
    rids = [run_ids(p)[0] for p in paths]
    ports = [rendezvous(store, rid) for rid in rids]
    assert all(len(p) == 1 for p in ports) and ports[0] != ports[1], ports
    for rid in rids:
        assert metrics(store, rid)["train/world_size"] == 2.0
    # they ran at the same time: each run's span (training and evaluation) overlaps the other's
    spans = [(s["started"], s["finished"]) for s in (status_file(store, rid) for rid in rids)]
    assert spans[0][0] <= spans[1][1] and spans[1][0] <= spans[0][1], spans
