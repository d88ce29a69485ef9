"""The memory estimate behind packing (plan/memory.py) and where it shows: `mixft plan`, `--dry-run`."""

from __future__ import annotations

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.plan.memory import (
    CUDA_CONTEXT,
    adapter_parameters,
    estimate_memory,
    memory_key,
    model_shape,
)
from mixft.runner.plan.stack import Stack, stack_of_trl
from tests.unit.helpers import invoke, plan_json

MATERIALISED = Stack(fused_logits=False, kbit_upcast=False)
FUSED = Stack(fused_logits=True, kbit_upcast=False)

EIGHT_B = ["model=llama31_8b", "mixture.tasks=[fpb]", "training=lora"]


def estimate(*overrides: str, trains: bool = True):
    return estimate_memory(resolve(load_config([*EIGHT_B, *overrides])), trains, stack=MATERIALISED)


def test_llama_8b_parts_follow_the_documented_formula():
    cfg = resolve(load_config([*EIGHT_B, "training.packing=false", "training.gradient_checkpointing=false"]))
    shape = model_shape(cfg)
    assert (shape.hidden, shape.layers, shape.intermediate, shape.vocab, shape.kv) == (
        4096,
        32,
        14336,
        128256,
        1024,
    )
    m = estimate_memory(cfg, stack=MATERIALISED)
    n = cfg.model.num_parameters
    assert m.weights == n * 2  # bf16 weights
    # all-linear at r 8: 8 x 32 x (9 x 4096 + 2 x 1024 + 3 x 14336) = 20,971,520 (PEFT's count)
    assert adapter_parameters(cfg) == 20_971_520 and m.trainable == 20_971_520 * 16
    tokens = 8 * 2 * 70  # batch x twice fpb's typical row
    dropout = 3 * (6 * 4096 + 14336)  # LoRA dropout's kept inputs and masks (dropout 0.05)
    assert m.activations == tokens * (2 * (8 * 4096 + 4 * 14336) + dropout) * 32
    assert m.logits == tokens * 128256 * 16
    assert m.budget == pytest.approx(m.peak * 1.1 + CUDA_CONTEXT)
    fused = estimate_memory(cfg, stack=FUSED)
    assert fused.logits < m.logits / 5 and fused.weights == m.weights


def test_the_installed_trl_decides_the_logits_and_the_upcast():
    assert stack_of_trl("1.16.0") == Stack(True, False, "trl 1.16.0")
    assert stack_of_trl("1.14.2").fused_logits is False and stack_of_trl("0.24.0").kbit_upcast is True
    assert stack_of_trl("0.26.0").kbit_upcast is False
    smoothing = resolve(load_config([*EIGHT_B, "+training.sft_kwargs.label_smoothing_factor=0.1"]))
    assert (
        estimate_memory(smoothing, stack=FUSED).logits
        == estimate_memory(smoothing, stack=MATERIALISED).logits
    )


def test_lora_adapters_follow_target_modules_and_zero_follows_ranks():
    qv = resolve(load_config([*EIGHT_B, "training.lora.target_modules=[q_proj,v_proj]"]))
    assert adapter_parameters(qv) == 8 * 32 * ((4096 + 4096) + (4096 + 1024))
    full = [*EIGHT_B, "training.method=full"]
    one = estimate_memory(resolve(load_config([*full, "training.deepspeed=zero2"])))
    four = estimate_memory(resolve(load_config([*full, "training.deepspeed=zero2"])), ranks=4)
    n = one.weights / 2
    assert one.weights + one.trainable == n * 16 and four.trainable == n * 14 / 4
    offload = estimate_memory(resolve(load_config([*full, "training.deepspeed=zero2_offload"])))
    assert offload.trainable < 2e9 and offload.host == n * 12 and one.host == 0


def test_each_setting_moves_the_estimate_the_way_it_should():
    lora, full, qlora = estimate(), estimate("training.method=full"), estimate("training.method=qlora")
    assert qlora.weights < lora.weights / 2.5 and lora.trainable < full.trainable / 50
    assert estimate("training.method=full", "training.deepspeed=zero2_offload").trainable < full.weights / 5
    assert estimate("training.method=full", "training.optim=adamw_8bit").trainable < full.trainable
    checkpointed = estimate("training.gradient_checkpointing=true", "training.packing=true")
    plain = estimate("training.gradient_checkpointing=false", "training.packing=true")
    assert checkpointed.activations < plain.activations / 10
    assert estimate("training.per_device_train_batch_size=4").logits == pytest.approx(
        estimate("training.per_device_train_batch_size=8").logits / 2
    )
    evaluates = estimate(trains=False)
    assert evaluates.trainable == 0 and evaluates.weights == lora.weights and evaluates.peak < lora.peak


def test_a_model_of_unknown_shape_is_sized_from_its_parameter_count():
    cfg = resolve(load_config(EIGHT_B))
    cfg.model.shape.hidden_size = cfg.model.shape.num_hidden_layers = None
    shape = model_shape(cfg)
    assert 3500 < shape.hidden < 5000 and 25 < shape.layers < 40  # Llama-3-8B: 4096 x 32


def test_runs_of_one_shape_share_a_key():
    a = resolve(load_config([*EIGHT_B, "seed=1"]))
    b = resolve(load_config([*EIGHT_B, "seed=2"]))
    c = resolve(load_config([*EIGHT_B, "training.per_device_train_batch_size=2"]))
    assert memory_key(a) == memory_key(b) != memory_key(c)
    assert memory_key(a, trains=False) != memory_key(a)  # an evaluation's OOM does not penalise trainings
    for change in (
        "training.gradient_checkpointing=false",
        "training.deepspeed=zero2",
        "training.precision=fp32",
        "training.lora.target_modules=[q_proj,v_proj]",
    ):
        assert memory_key(resolve(load_config([*EIGHT_B, change]))) != memory_key(a), change


def test_plan_shows_each_runs_memory_and_what_one_gpu_holds():
    rows = plan_json("smoke", "--gpu", "H200")
    assert all(row["memory_gb"] > 0.75 for row in rows)
    out = invoke("plan", "smoke", "--gpu", "H200", "executor.runs_per_gpu=4").output
    assert "runs one H200 (141 GB) holds at runs_per_gpu 4: tiny eval peak" in out and "tiny full" in out


def test_plan_says_the_lora_study_fits_one_h100_and_prints_each_models_peak():
    out = " ".join(invoke("plan", "cocktail_paper_lora", "--gpu", "H100").output.split())
    assert "does not fit" not in out
    for model in ("llama31_8b", "mistral_7b", "phi3_mini", "phi3_small"):
        assert f"{model} lora peak" in out and f"{model} eval peak" in out


def test_a_dry_run_shows_the_packing_it_would_use():
    result = invoke(
        "sweep", "smoke", "--gpus", "0,1", "--runs-per-gpu", "2", "executor.gpu_memory_gb=80", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "up to 2 runs a GPU by memory" in result.output
    lines = [line.strip() for line in result.output.splitlines() if line.strip().startswith("gpu")]
    assert [line.split(":")[0] for line in lines] == ["gpu0", "gpu1"] and all("2 run(s)" in x for x in lines)
    assert "2 run(s) wait for room" in result.output
