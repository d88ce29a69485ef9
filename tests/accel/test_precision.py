"""bf16 and QLoRA on this CPU, in-process: the dtype layers compute in while mixft trains, the NF4
layers bitsandbytes builds, and the one-line refusals (fp16 without CUDA, 4-bit without bitsandbytes).

run: pytest tests/accel/test_precision.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.helpers import assert_usage_error, invoke

pytestmark = [pytest.mark.smoke, pytest.mark.usefixtures("one_torch_thread")]

FPB = ["data.samples=true", "mixture.tasks=[fpb]", "eval=smoke", "eval.tasks=[]"]
TWO_STEPS = [
    "training=smoke",
    "training.max_steps=2",
    "training.save_steps=null",
    "training.keep=none",
    "training.logging_steps=1",
]


@pytest.fixture
def tiny_model_built() -> None:
    """The store's tiny model, built before a CLI call (its build writes a progress bar on stderr)."""
    from mixft.runner.config.load import load_config
    from mixft.runner.train.models import ensure_tiny_model

    ensure_tiny_model(load_config(FPB).model.build)


def train_watching_linears(folder: Path, *overrides: str) -> tuple[set[Any], dict[str, float], Any]:
    """Train two steps with mixft's trainer; the dtypes every nn.Linear output had while training."""
    import torch

    from mixft.runner.config.load import load_config
    from mixft.runner.data.build import build_training_set
    from mixft.runner.data.tokenizer import load_tokenizer
    from mixft.runner.train.trainer import train

    cfg = load_config([*FPB, *TWO_STEPS, *overrides])
    tokenizer = load_tokenizer(cfg.model)
    rows = build_training_set(cfg, tokenizer).rows
    seen: set[Any] = set()

    def hook(module: Any, args: Any, output: Any) -> None:
        if isinstance(module, torch.nn.Linear) and module.training and torch.is_tensor(output):
            seen.add(output.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        trained = train(cfg, rows, tokenizer, folder, "none")
    finally:
        handle.remove()
    return seen, trained.metrics, trained.model


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks the CPU path; CUDA picks its own device"
)
def test_bf16_on_cpu_autocasts_the_linear_layers_and_keeps_fp32_weights(tmp_path):
    import torch

    seen, metrics, model = train_watching_linears(tmp_path / "bf16", "training.precision=bf16")
    assert seen == {torch.bfloat16}
    assert metrics["train/bf16"] == 1.0 and metrics["train/fp16"] == 0.0
    # autocast computes in bf16; the weights the optimizer updates stay fp32
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    seen, metrics, _ = train_watching_linears(tmp_path / "fp32", "training.precision=fp32")
    assert seen == {torch.float32} and metrics["train/bf16"] == 0.0


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="fp16 is allowed on CUDA")
def test_fp16_on_cpu_is_one_line_before_anything_trains(tiny_model_built):
    result = invoke("run", *FPB, "training.precision=fp16")
    assert_usage_error(result, "training.precision=fp16 needs a CUDA GPU", "bf16")
    assert not list(Path(os.environ["MIXFT_HOME"], "runs").glob("*/checkpoints/*"))


def test_qlora_loads_the_base_as_nf4_with_double_quantisation():
    import bitsandbytes as bnb
    import torch

    from mixft.runner.config.load import load_config
    from mixft.runner.train.models import load_model
    from mixft.runner.train.precision import compute_dtype
    from mixft.runner.train.trl_adapter import quantization_config

    cfg = load_config([*FPB, "training=smoke", "training.method=qlora"])
    model = load_model(cfg.model, quantization_config(cfg))
    four_bit = {n: m for n, m in model.named_modules() if isinstance(m, bnb.nn.Linear4bit)}
    # every projection of both decoder layers (q, k, v, o, gate, up, down); lm_head stays unquantised
    assert len(four_bit) == 7 * cfg.model.build.num_hidden_layers, sorted(four_bit)
    for layer in four_bit.values():
        assert layer.weight.dtype == torch.uint8 and layer.weight.quant_type == "nf4"
        assert layer.weight.quant_state.nested  # the absmax constants are quantised too
        assert layer.compute_dtype == compute_dtype()
    assert not isinstance(model.lm_head, bnb.nn.Linear4bit)


def test_qlora_where_bitsandbytes_cannot_quantise_is_one_line_before_training(monkeypatch, tiny_model_built):
    from mixft.runner.train.precision import four_bit_problem

    for name in ("bitsandbytes", "bitsandbytes.functional"):
        monkeypatch.setitem(sys.modules, name, None)  # `import bitsandbytes` now fails
    four_bit_problem.cache_clear()
    try:
        result = invoke("run", *FPB, "training=smoke", "training.method=qlora")
    finally:
        four_bit_problem.cache_clear()
    assert_usage_error(result, "training.method=qlora: the bitsandbytes package is not installed")
    assert not list(Path(os.environ["MIXFT_HOME"], "runs").glob("*/checkpoints/*"))
