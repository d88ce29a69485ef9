"""QLoRA and bf16 through `mixft sweep` on this CPU, killed and resumed.

run: pytest tests/accel/test_accel_sweep.py    (make test-all; about 3 minutes on 2 cores)

One sweep of three runs: full fine-tuning and LoRA under bf16 autocast, and QLoRA in the smoke
recipe's fp32 (its 4-bit layers compute in bf16 on a CPU with AMX). Each run is SIGKILLed while it
writes its step-4 checkpoint (tests/reliability/inject.py), and the next `mixft sweep` resumes it from
step 2. A later `mixft eval` scores the QLoRA adapter again from disk, training nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.reliability.store import (
    REPO,
    env_for,
    mixft,
    run_folder,
    run_ids,
    status_file,
    status_rows,
    training_folder,
    write_sweep,
)

pytestmark = [pytest.mark.smoke, pytest.mark.slow]

GRID = """\
grid:
  training.method: full,lora,qlora
  training.precision: bf16,fp32
exclude:
  - {training.method: full, training.precision: fp32}
  - {training.method: lora, training.precision: fp32}
  - {training.method: qlora, training.precision: bf16}
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sweep after every run was killed mid-checkpoint and a second `mixft sweep` finished it."""
    folder = tmp_path_factory.mktemp("accel")
    sweep = write_sweep(folder, "accel", [0], extra=GRID)
    env, store, ids = env_for(folder / "store"), folder / "store", run_ids(sweep)
    assert len(ids) == 3
    faults = [f"{i}:checkpoint:KILL" for i in range(len(ids))]
    cmd = [sys.executable, "-m", "tests.reliability.inject", str(sweep), *faults]
    killed = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert killed.returncode == 0, killed.stdout + killed.stderr
    codes = [line.split()[2] for line in killed.stdout.splitlines() if line.startswith("exit ")]
    assert codes == ["-9"] * 3, killed.stdout  # each ended by its SIGKILL, none by an error
    again = mixft(env, "sweep", str(sweep), "--max-parallel", "2", timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    training = {
        rid: yaml.safe_load((training_folder(store, rid) / "config.yaml").read_text())["training"]
        for rid in ids
    }
    by_method = {t["method"]: rid for rid, t in training.items()}
    return {"sweep": sweep, "env": env, "store": store, "ids": ids, "by_method": by_method}


def metrics_of(folder: Path) -> dict[str, float]:
    return json.loads((folder / "metrics.json").read_text())


def test_each_run_killed_while_checkpointing_resumes_from_the_one_before_and_learns(swept):
    store, precision = swept["store"], {"full": 1.0, "lora": 1.0, "qlora": 0.0}
    assert {row["state"] for row in status_rows(swept["env"], swept["sweep"]).values()} == {"done"}
    for method, rid in swept["by_method"].items():
        training = training_folder(store, rid)
        assert [h["state"] for h in status_file(store, rid, training=True)["history"]] == [
            "interrupted",
            "done",
        ], method
        metrics = metrics_of(training)
        # checkpoint-4 was torn by the kill: training restarted from checkpoint-2 and ran to 6
        assert metrics["train/resumed_from_step"] == 2.0 and metrics["train/steps"] == 6.0, method
        assert sorted(p.name for p in (training / "checkpoints").glob("checkpoint-*")) == [
            "checkpoint-4",
            "checkpoint-6",
        ]
        assert metrics["train/last_loss"] < metrics["train/first_loss"] * 0.9, (method, metrics)
        assert metrics["train/bf16"] == precision[method], (method, metrics)
        scored = metrics_of(run_folder(store, rid))
        assert scored["eval/fpb/n"] == 8, scored
        engine = json.loads((run_folder(store, rid) / "engine.json").read_text())
        assert engine["engine"] == "hf", engine


def test_the_qlora_run_keeps_an_adapter_that_loads_onto_an_nf4_base(swept, monkeypatch):
    import bitsandbytes as bnb
    from safetensors.torch import load_file

    from mixft.runner.config.load import load_config
    from mixft.runner.train.models import load_kept
    from mixft.runner.train.trl_adapter import quantization_config

    store, rid = swept["store"], swept["by_method"]["qlora"]
    model_dir = training_folder(store, rid) / "model"
    assert (model_dir / "adapter_model.safetensors").is_file()
    assert not (model_dir / "model.safetensors").exists()
    monkeypatch.setenv("MIXFT_HOME", str(store))  # the tiny base model the sweep built
    overrides = yaml.safe_load((training_folder(store, rid) / "overrides.yaml").read_text())
    cfg = load_config(overrides)
    model = load_kept(cfg.model, model_dir, True, quantization_config(cfg))
    assert sum(isinstance(m, bnb.nn.Linear4bit) for m in model.modules()) == 14
    # the adapter's B matrices start at zero: the loaded ones are the trained ones, as saved
    saved = load_file(str(model_dir / "adapter_model.safetensors"))
    loaded = {n.replace(".default", ""): p for n, p in model.named_parameters() if "lora_B" in n}
    assert len(loaded) == 14 and set(loaded) <= set(saved), sorted(loaded)[:2]
    for name, tensor in loaded.items():
        assert tensor.abs().sum() > 0 and (tensor.float() == saved[name].float()).all(), name


def test_a_later_mixft_eval_scores_the_qlora_adapter_from_disk_and_trains_nothing(swept):
    """`mixft eval` re-scores every run of the sweep; the QLoRA one is checked output by output."""
    store, env, rid = swept["store"], swept["env"], swept["by_method"]["qlora"]
    training = training_folder(store, rid)
    before = status_file(store, rid, training=True)["history"]
    # another evaluation of the same rows in the same batches: only the numeric tolerance differs
    # (fpb is scored by label), so its predictions are the in-sweep evaluation's
    done = mixft(env, "eval", str(swept["sweep"]), "eval.numeric_rel_tol=0.02")
    assert done.returncode == 0, done.stdout + done.stderr
    assert status_file(store, rid, training=True)["history"] == before  # not trained again
    evals = [p for p in (training / "evals").iterdir() if p != run_folder(store, rid)]
    assert len(evals) == 1 and json.loads((evals[0] / "status.json").read_text())["state"] == "done"
    again = (evals[0] / "predictions" / "fpb.jsonl").read_text().splitlines()
    first = (run_folder(store, rid) / "predictions" / "fpb.jsonl").read_text().splitlines()
    outputs = [[json.loads(line)["output"] for line in lines] for lines in (again, first)]
    assert outputs[0] == outputs[1] and len(outputs[0]) == 8
