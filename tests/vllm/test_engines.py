"""vLLM against batched transformers on this CPU: the same greedy answers from the same prompt tokens
(a full model and a LoRA adapter, float32), and a suite's generative task scored through vLLM; one
vLLM engine for all of it, as a run process holds one per base model.

run: make test-vllm    |    .venv-vllm/bin/python -m pytest -m vllm tests/vllm/test_engines.py -q -s
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import time

import pytest

from mixft.runner.config.load import clear_caches, load_config
from mixft.runner.config.run import resolve
from mixft.runner.data.tokenizer import load_tokenizer
from mixft.runner.evaluate.engines import resolve_engine, task_generator
from mixft.runner.evaluate.engines import vllm as vllm_engine
from mixft.runner.evaluate.evaluator import eval_examples
from mixft.runner.evaluate.suites import evaluate_suite
from mixft.runner.train.models import load_model, model_source
from tests.toy_suite import SUITE, write_toy_suite

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(
        importlib.util.find_spec("vllm") is None, reason="needs vLLM: `make test-vllm` builds it"
    ),
]

# float32 on both sides: greedy answers then differ only where two logits tie within rounding
RUN = [
    "model=tiny",
    "data.samples=true",
    "mixture.tasks=[fpb]",
    "eval.max_examples=64",
    f"eval.suites=[{SUITE}]",
]
BUDGET = 16  # new tokens per answer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny model (head_dim 32: vLLM's CPU attention takes 32..512), its prompts, a toy suite."""
    project = tmp_path_factory.mktemp("project")
    write_toy_suite(project)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIXFT_CONFIG_PATH", str(project))
        clear_caches()
        cfg = resolve(load_config(RUN))
    clear_caches()
    model = load_model(cfg.model)
    assert model.config.hidden_size // model.config.num_attention_heads == 32
    prompts = [e["prompt"] for e in eval_examples(cfg, "fpb")]
    yield cfg, load_tokenizer(cfg.model), model, model_source(cfg.model)[0], prompts
    vllm_engine.VllmEngine.close()


@pytest.fixture(scope="module")
def tuned(tiny, tmp_path_factory):
    """A LoRA adapter with random, non-zero weights on the tiny model (its own copy), and the same
    adapter merged into a full model folder: both must change what is generated."""
    import torch
    from peft import LoraConfig, get_peft_model

    cfg, tokenizer, _, base, _ = tiny
    torch.manual_seed(0)
    lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    adapted = get_peft_model(load_model(cfg.model), lora)
    folder = tmp_path_factory.mktemp("tuned")
    adapted.save_pretrained(folder / "adapter")
    merged = get_peft_model(load_model(cfg.model), lora)
    merged.load_state_dict(adapted.state_dict())
    merged = merged.merge_and_unload()
    merged.save_pretrained(folder / "full", safe_serialization=True)
    return {"lora": (adapted, str(folder / "adapter")), "full": (merged, str(folder / "full"))}


def with_engine(cfg, engine: str):
    return dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, engine=engine))


def timed(generate, prompts) -> tuple[list[str], float]:
    start = time.perf_counter()
    out = generate(prompts, BUDGET)
    return out, len(prompts) / (time.perf_counter() - start)


def agreement(a: list[str], b: list[str]) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def test_auto_keeps_hf_on_this_cpu_and_vllm_runs_when_asked(tiny):
    cfg = tiny[0]
    assert resolve_engine(with_engine(cfg, "auto")) == "hf"  # vLLM measured slower on CPU
    assert resolve_engine(with_engine(cfg, "vllm")) == "vllm"
    record = vllm_engine.VllmEngine.record()
    assert record == {"engine": "vllm", "version": __import__("vllm").__version__, "device": "cpu"}


@pytest.mark.parametrize(("arm", "engines"), [("lora", 1), ("full", 2)])
def test_vllm_answers_as_transformers_does(tiny, tuned, arm, engines):
    cfg, tokenizer, plain_model, base, prompts = tiny
    model, weights = tuned[arm]
    hf, hf_rate = timed(task_generator(with_engine(cfg, "hf"), model, tokenizer, base, weights), prompts)
    fast, vllm_rate = timed(
        task_generator(with_engine(cfg, "vllm"), model, tokenizer, base, weights), prompts
    )
    same = agreement(hf, fast)
    print(
        f"\n{arm}: {same:.0%} identical answers; hf {hf_rate:.1f} prompts/s, "
        f"vllm {vllm_rate:.1f} prompts/s ({vllm_rate / hf_rate:.2f}x, engine already loaded)"
    )
    assert same >= 0.95
    assert len(set(hf)) > 1, hf[:4]  # answers that depend on the prompt, not one constant string
    plain = task_generator(with_engine(cfg, "hf"), plain_model, tokenizer, base, base)(prompts, BUDGET)
    assert agreement(plain, hf) < 0.95  # the tuned weights changed the answers vLLM reproduced
    # the adapter is a request on the base's engine; a full fine-tune is an engine of its own folder
    assert len(vllm_engine._ENGINES) == engines


def test_a_suites_generative_task_goes_through_vllm(tiny, tuned, tmp_path):
    cfg, tokenizer, _, base, _ = tiny
    model, weights = tuned["full"]
    suite = cfg.suite[SUITE]
    theirs = evaluate_suite(suite, model, tokenizer, tmp_path / "hf")
    generation = task_generator(with_engine(cfg, "vllm"), model, tokenizer, base, weights)
    ours = evaluate_suite(suite, model, tokenizer, tmp_path / "vllm", generation)
    settings = json.loads((tmp_path / "vllm" / "suites" / SUITE / "settings.json").read_text())
    assert settings["engine"] == "vllm"
    assert settings["tasks"]["toy_gen"]["engine"] == "vllm"  # generate_until: through the run's engine
    assert settings["tasks"]["toy_mc"]["engine"] == "hf"  # log-likelihood: HFLM on the loaded model
    assert ours[f"suite/{SUITE}/toy_mc/acc"] == theirs[f"suite/{SUITE}/toy_mc/acc"]
    responses = {}
    for side in ("hf", "vllm"):
        lines = (tmp_path / side / "suites" / SUITE / "toy_gen.jsonl").read_text().splitlines()
        responses[side] = {r["doc_id"]: r["response"] for r in map(json.loads, lines)}
    assert len(responses["vllm"]) == 40 and responses["vllm"].keys() == responses["hf"].keys()
    docs = sorted(responses["hf"])
    same = agreement([responses["hf"][d] for d in docs], [responses["vllm"][d] for d in docs])
    print(f"\ntoy_gen through vLLM: {same:.0%} of 40 responses identical to HFLM's")
    assert same >= 0.95
    assert len(set(responses["vllm"].values())) > 1  # responses that depend on the document
    assert len(vllm_engine._ENGINES) == 2  # the suite used the engine the full model's answers loaded
