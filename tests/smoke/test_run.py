"""One run end to end on the tiny model: train, evaluate, the run directory, resume, LoRA, secrets."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mixft.runner.execute.entry import execute, prepare
from mixft.runner.paths import run_dir, training_dir
from mixft.runner.store import status as states
from tests.unit.helpers import assert_usage_error, invoke

pytestmark = [pytest.mark.smoke, pytest.mark.usefixtures("one_torch_thread")]

FPB = ["data.samples=true", "mixture.tasks=[fpb]", "eval=smoke", "eval.tasks=[]"]


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_a_full_run_learns_its_task_and_writes_the_run_dir():
    from mixft.runner.config.load import load_config
    from mixft.runner.train.models import ensure_tiny_model

    rid, _ = prepare(FPB)
    outcome = execute(rid)
    folder, metrics = outcome.run_dir, outcome.metrics
    training = training_dir(rid)
    assert folder == run_dir(rid) and folder.parent.parent == training
    assert outcome.state == "done"
    # honest smoke: the tiny model beats the majority class of the eval split, and the loss fell
    assert metrics["eval/fpb/accuracy"] > metrics["eval/fpb/majority_rate"] + 0.2
    assert metrics["train/last_loss"] < metrics["train/first_loss"] / 5
    before = weights(ensure_tiny_model(load_config([]).model.build))
    after = weights(training / "model")
    unchanged = [name for name, tensor in before.items() if (after[name] == tensor).all()]
    assert not unchanged, unchanged
    both = ("config.yaml", "overrides.yaml", "run.json", "status.json", "metrics.json")
    for name in (*both, "predictions/fpb.jsonl"):
        assert (folder / name).is_file(), name
    for name in (*both, "manifest.json", "train.log", "progress.json"):
        assert (training / name).is_file(), name
    assert not (folder / "train.log").exists() and not (folder / "model").exists()
    assert json.loads((folder / "run.json").read_text())["kind"] == "evaluation"
    assert json.loads((training / "run.json").read_text())["kind"] == "training"
    for place in (folder, training):
        status = json.loads((place / "status.json").read_text())
        assert status["state"] == "done" and status["attempts"] == 1
        assert status["started"] <= status["finished"]
        assert yaml.safe_load((place / "overrides.yaml").read_text()) == FPB
    assert json.loads((folder / "metrics.json").read_text()) == metrics
    assert json.loads((folder / "engine.json").read_text())["engine"] == "hf"  # auto, without CUDA
    trained = json.loads((training / "metrics.json").read_text())
    assert trained.items() <= metrics.items() and not any(k.startswith("eval/") for k in trained)
    logged = [json.loads(line) for line in (training / "train.log").read_text().splitlines()]
    assert logged[-1]["step"] == metrics["train/steps"] and any("loss" in entry for entry in logged)
    # a second call does not train again
    assert execute(rid).metrics == metrics


def test_a_lora_run_trains_only_the_adapter():
    rid, _ = prepare(
        [
            *FPB,
            "training=lora",
            # the GPU recipe packs into 4,096-token rows: minutes a step on a CPU
            "training.packing=false",
            "training.max_length=256",
            "training.gradient_checkpointing=false",
            "training.max_steps=12",
            "training.learning_rate=1e-3",
            "training.per_device_train_batch_size=8",
            "eval.max_examples=8",
        ]
    )
    outcome = execute(rid)
    assert outcome.state == "done" and outcome.metrics["train/steps"] == 12
    saved = training_dir(rid) / "model"
    assert (saved / "adapter_model.safetensors").is_file() and not (saved / "model.safetensors").exists()
    assert "eval/fpb/accuracy" in outcome.metrics


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    overrides = [*FPB, "training.save_steps=10", "training.max_steps=60", "eval.max_examples=8"]
    rid, _ = prepare(overrides)
    folder, training = run_dir(rid), training_dir(rid)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "mixft.runner.execute.entry", rid],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while not (training / "checkpoints" / "checkpoint-10" / "trainer_state.json").exists():
        assert child.poll() is None and time.time() < deadline, "no checkpoint before the child ended"
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait()
    # killed: it could not say anything
    assert states.read_status(folder)["state"] == states.read_status(training)["state"] == "running"
    from mixft.runner.train.checkpoints import last_checkpoint

    _, step = last_checkpoint(training / "checkpoints")
    assert 10 <= step < 60
    outcome = execute(rid)
    assert outcome.state == "done"
    assert outcome.metrics["train/resumed_from_step"] == step and outcome.metrics["train/steps"] == 60
    for place in (folder, training):
        status = states.read_status(place)
        assert status["attempts"] == 2
        assert [h["state"] for h in status["history"]] == ["interrupted", "done"]


def test_the_base_model_is_evaluated_without_training():
    rid, cfg = prepare(["data.samples=true", "eval=smoke", "eval.tasks=[fpb]", "eval.max_examples=8"])
    outcome = execute(rid)
    assert outcome.state == "done"
    assert not any(key.startswith("train/") for key in outcome.metrics)
    assert "eval/fpb/accuracy" in outcome.metrics and not (outcome.run_dir / "model").exists()
    base = training_dir(rid)
    assert json.loads((base / "run.json").read_text())["kind"] == "base"
    assert not (base / "model").exists() and not (base / "status.json").exists()


def test_mixft_run_prints_json_and_keeps_secrets_out(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "canary-hf-0042")
    monkeypatch.setenv("WANDB_API_KEY", "")
    monkeypatch.setenv("ACME_SERVICE_TOKEN", "canary-acme-0042")
    result = invoke(
        "run",
        *FPB,
        "training.max_steps=8",
        "eval.max_examples=8",
        "tracker=wandb",
        "tracker.mode=offline",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert {"id", "run_dir", "status", "metrics"} <= set(report) and report["status"] == "done"
    for path in Path(report["run_dir"]).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"canary-" not in data, path


def test_secrets_are_refused_as_overrides():
    result = invoke("run", *FPB, "+training.sft_kwargs.hub_token=canary-cli-0042")
    assert_usage_error(result, "looks like a secret", "environment")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_vllm_where_it_is_not_installed_is_one_line_before_anything_trains():
    result = invoke("run", *FPB, "eval.engine=vllm")
    assert_usage_error(result, "eval.engine=vllm needs vLLM, which is not installed here")
    assert not list(Path(os.environ["MIXFT_HOME"], "runs").glob("*/model"))
