"""The GPU tier: `mixft sweep` on one GPU with a locally built Llama-shaped model of ~0.5 B parameters
(random weights, the sample suite's data): bf16 full fine-tuning and LoRA, QLoRA, flash-attention or
its sdpa fallback, DeepSpeed ZeRO-2 with optimizer offload, and four LoRA runs packed on one GPU
against the same four one after another, and the memory estimate against the measured peak at two
sequence lengths. It ends with a throughput report: tokens/s, MFU, peak memory against
plan/memory.py's estimate (measured vs predicted), evaluation throughput ($MIXFT_GPU_REPORT, else
gpu-report.json in the store's parent, and printed).

run: make test-gpu    |    bash tests/gpu/host.sh WHEELHOUSE    (a host without internet)
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gpu.report import REPORT, gpu_name, mfu, write_report

pytestmark = [pytest.mark.gpu]

# Llama-shaped, ~0.5 B parameters: head dim 128, grouped-query attention (3 query heads a KV head)
BUILD = {
    "hidden_size": 1536,
    "intermediate_size": 4096,
    "num_hidden_layers": 20,
    "num_attention_heads": 12,
    "num_key_value_heads": 4,
    "max_position_embeddings": 2048,
}
BASE = [
    "model=tiny",
    *(f"model.build.{key}={value}" for key, value in BUILD.items()),
    "model.dtype=bfloat16",
    "model.context_length=2048",
    "data.samples=true",
    "data.sample_train_rows=2048",
    "training=smoke",
    "training.precision=bf16",
    "training.learning_rate=1e-4",
    "training.packing=true",
    "training.max_length=1024",
    "training.save_steps=null",
    "training.logging_steps=10",
    "eval=smoke",
    "eval.max_examples=256",
    "tracker=none",
]
THROUGHPUT = ["training.per_device_train_batch_size=16", "training.max_steps=40"]
SHORT = ["training.per_device_train_batch_size=8", "training.max_steps=10"]


def cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


if not cuda():
    pytestmark.append(pytest.mark.skip(reason="the GPU tier needs CUDA (make test-gpu on a GPU host)"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the tier: the model is built once; each case's runs differ by their recipe."""
    root = tmp_path_factory.mktemp("gpu-tier")
    yield root / "store"
    write_report(Path(os.environ.get("MIXFT_GPU_REPORT") or root / "gpu-report.json"))


def parameters(store: Path) -> int:
    """The built model's parameter count, from its safetensors (tied embeddings counted once)."""
    from safetensors import safe_open

    total = 0
    for weights in store.glob("models/tiny-*/model/*.safetensors"):
        with safe_open(str(weights), "pt") as f:
            for key in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                total += math.prod(f.get_slice(key).get_shape())
    return total


def lines(folder: Path, pattern: str) -> int:
    """Lines of the files under `folder` that match `pattern` (predictions: one per example)."""
    return sum(len(path.read_text().splitlines()) for path in folder.glob(pattern))


def sweep(
    store: Path, name: str, overrides: list[str], *options: str, seeds: tuple[int, ...] = (0,)
) -> tuple[list[dict[str, Any]], float]:
    """Run a one-task sweep of `seeds` through `mixft sweep`; its trained runs' metrics and the wall time."""
    path = store.parent / f"{name}.yaml"
    lines = [f"name: {name}", "base:", *(f"  - {o!r}" for o in [*BASE, *overrides])]
    lines += ["mixtures:", "  tasks: [fpb]", "  generators: [singles]", f"seeds: {list(seeds)}"]
    path.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "MIXFT_HOME": str(store), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "mixft.cli.main", "sweep", str(path), "--gpus", "0", *options]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=480)
    wall = time.perf_counter() - start
    assert done.returncode == 0, f"{name}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    status = subprocess.run(
        [sys.executable, "-m", "mixft.cli.main", "status", name, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [row for row in json.loads(status.stdout) if row.get("role") != "base"]
    metrics = [
        json.loads((Path(row["run_dir"]) / "metrics.json").read_text()) | {"run_dir": row["run_dir"]}
        for row in rows
    ]
    return metrics, wall


def estimate(overrides: list[str]) -> float:
    """plan/memory.py's peak for a run of the tier with these overrides, in GB."""
    from mixft.runner.config.load import load_config
    from mixft.runner.config.run import resolve
    from mixft.runner.plan.memory import estimate_memory

    cfg = resolve(load_config([*BASE, *overrides, "mixture.tasks=[fpb]"]))
    return estimate_memory(cfg).peak / 1e9


def record(case: str, metrics: dict[str, Any], overrides: list[str], n: int, method: str) -> None:
    """One row of the report: throughput, MFU, measured and estimated peak memory, eval rate."""
    tokens_s = metrics.get("train/tokens_per_s", 0.0)
    peak, guess = metrics.get("train/peak_memory_gb"), estimate(overrides)
    evaluated = lines(Path(metrics["run_dir"]), "predictions/*.jsonl")
    REPORT["runs"].append(
        {
            "case": case,
            "tokens_per_s": round(tokens_s),
            "mfu": mfu(n, tokens_s, method),
            "peak_memory_gb": peak,
            "estimated_peak_gb": round(guess, 2),
            "estimate_over_measured": round(guess / peak, 3) if peak else None,
            "eval_examples_per_s": round(evaluated / metrics["time/eval_s"], 1)
            if metrics.get("time/eval_s")
            else None,
            "train_s": metrics.get("time/train_s"),
        }
    )


def test_bf16_full_fine_tuning_and_lora(store: Path) -> None:
    for method in ("full", "lora"):
        overrides = [*THROUGHPUT, f"training.method={method}"]
        (metrics,), _ = sweep(store, f"tier_{method}", overrides)
        n = parameters(store)
        REPORT.update({"gpu": gpu_name(), "parameters": n})
        record(method, metrics, overrides, n, method)
        assert metrics["train/tokens_per_s"] > 0 and metrics["train/peak_memory_gb"] > 0
        ratio = estimate(overrides) / metrics["train/peak_memory_gb"]
        assert 0.5 < ratio < 2.0, f"{method}: memory estimate {ratio:.2f}x the measured peak"


# LoRA with gradient checkpointing, as training=lora trains, at two sequence lengths: the estimate's
# slope in tokens (activations, logits or the fused head's buffers: plan/stack.py) and its intercept
MEMORY_LENGTHS = (512, 2048)
MEMORY = [
    "training.method=lora",
    "training.gradient_checkpointing=true",
    "training.per_device_train_batch_size=4",
]
MEMORY += ["training.max_steps=5"]


def test_memory_estimate_against_the_measured_peak_at_two_sequence_lengths(store: Path) -> None:
    from mixft.runner.plan.stack import installed_stack

    for length in MEMORY_LENGTHS:
        overrides = [*MEMORY, f"training.max_length={length}"]
        (metrics,), _ = sweep(store, f"tier_memory_{length}", overrides)
        measured, predicted = metrics["train/peak_memory_gb"], estimate(overrides)
        REPORT.setdefault("memory", []).append(
            {
                "case": f"lora, GC, 4 x {length} tokens",
                "stack": installed_stack().label,
                "measured_peak_gb": measured,
                "predicted_peak_gb": round(predicted, 3),
                "predicted_over_measured": round(predicted / measured, 3),
            }
        )
    for row in REPORT["memory"]:  # the band tests/plan/test_known_memory.py holds published peaks to
        assert 0.95 <= row["predicted_over_measured"] <= 1.4, REPORT["memory"]


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="QLoRA needs bitsandbytes")
def test_qlora(store: Path) -> None:
    overrides = [*SHORT, "training.method=qlora"]
    (metrics,), _ = sweep(store, "tier_qlora", overrides)
    record("qlora", metrics, overrides, parameters(store), "qlora")
    assert metrics["train/steps"] == 10


def test_flash_attention_or_the_sdpa_fallback_notice(store: Path) -> None:
    overrides = [*SHORT, "model.attn_implementation=flash_attention_2", "training.method=lora"]
    (metrics,), _ = sweep(store, "tier_attention", overrides)
    log = (Path(metrics["run_dir"]) / "run.log").read_text(errors="replace")
    fallback = "flash_attention_2 needs CUDA and flash-attn here; using sdpa" in log
    assert fallback == (importlib.util.find_spec("flash_attn") is None), log[-2000:]
    REPORT["attention"] = (
        "sdpa (flash-attn not installed: fallback notice seen)" if fallback else "flash_attention_2"
    )


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="needs deepspeed (mixft[gpu])")
def test_deepspeed_zero2_with_optimizer_offload(store: Path) -> None:
    overrides = [*SHORT, "training.method=full", "training.deepspeed=zero2_offload"]
    (metrics,), _ = sweep(store, "tier_deepspeed", overrides)
    record("full, ZeRO-2 offload", metrics, overrides, parameters(store), "full")
    assert metrics["train/steps"] == 10


def test_four_lora_runs_packed_on_one_gpu(store: Path) -> None:
    small = ["training.method=lora", "training.per_device_train_batch_size=4", "training.max_length=512"]
    small += ["training.max_steps=60"]
    packed, packed_s = sweep(store, "tier_packed", small, "--runs-per-gpu", "4", seeds=(0, 1, 2, 3))
    alone, alone_s = sweep(store, "tier_alone", small, "--runs-per-gpu", "1", seeds=(10, 11, 12, 13))
    assert len(packed) == len(alone) == 4
    tokens = sum(m["train/tokens"] for m in packed), sum(m["train/tokens"] for m in alone)
    REPORT["packing"] = {
        "runs": 4,
        "packed_wall_s": round(packed_s, 1),
        "one_at_a_time_wall_s": round(alone_s, 1),
        "throughput_packed_over_one_at_a_time": round((tokens[0] / packed_s) / (tokens[1] / alone_s), 2),
        "peak_memory_gb_each": [m.get("train/peak_memory_gb") for m in packed],
    }
    assert packed_s < alone_s, REPORT["packing"]
