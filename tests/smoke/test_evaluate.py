"""Evaluation on the tiny model: batched generation, paired eval rows, predictions files, metrics."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.data.tokenizer import load_tokenizer
from mixft.runner.errors import ConfigError
from mixft.runner.evaluate.evaluator import eval_examples, evaluate_run, evaluate_task
from mixft.runner.evaluate.generation import generate
from mixft.runner.scoring.scorers import score_example
from mixft.runner.train.models import ensure_tiny_model

pytestmark = pytest.mark.smoke

RUN = [
    "data.samples=true",
    "mixture.tasks=[fpb]",
    "eval.tasks=[finqa]",
    "eval.max_examples=16",
    "eval.batch_size=8",
    "eval.max_new_tokens=6",
]


@pytest.fixture(scope="module")
def model_and_tokenizer(tmp_path_factory):
    """The tiny model with its weights redrawn (seeded, std 0.3).

    As built, the untrained tiny model answers every prompt with newlines, which strip to "": any
    comparison of its outputs would pass whatever the padding or the order. Larger random weights
    make the garbage depend on the prompt, so these tests can fail.
    """
    import torch
    from transformers import AutoModelForCausalLM

    old = os.environ.get("MIXFT_HOME")
    os.environ["MIXFT_HOME"] = str(tmp_path_factory.mktemp("models"))
    try:
        cfg = load_config([])
        model = AutoModelForCausalLM.from_pretrained(str(ensure_tiny_model(cfg.model.build)))
        tokenizer = load_tokenizer(cfg.model)
    finally:
        if old is None:
            os.environ.pop("MIXFT_HOME", None)
        else:
            os.environ["MIXFT_HOME"] = old
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim == 2:
                param.normal_(0.0, 0.3, generator=generator)
    # the model's 64-wide matrices gain nothing from threads, and threads spin when the CPUs are busy
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield model, tokenizer
    torch.set_num_threads(threads)


def mixed_prompts() -> list[list[dict]]:
    """8 prompts of different lengths: short fpb sentences and long finqa reports, interleaved."""
    cfg = load_config(["data.samples=true", "eval.max_examples=4"])
    fpb, finqa = eval_examples(cfg, "fpb"), eval_examples(cfg, "finqa")
    return [e["prompt"] for pair in zip(fpb, finqa, strict=True) for e in pair]


def token_lengths(tokenizer, prompts) -> list[int]:
    texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def test_batches_give_the_outputs_of_batch_size_one(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    prompts = mixed_prompts()
    assert len(set(token_lengths(tokenizer, prompts))) >= 6  # batches of mixed lengths: padded
    single = generate(model, tokenizer, prompts, max_new_tokens=6, batch_size=1)
    assert len(set(single)) > 1 and all(single)  # outputs that a padding bug would change
    assert generate(model, tokenizer, prompts, max_new_tokens=6, batch_size=8) == single
    assert generate(model, tokenizer, prompts, max_new_tokens=6, batch_size=3) == single


def test_outputs_come_back_in_input_order_without_the_prompt(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    prompts = mixed_prompts()
    tokenizer.padding_side = "right"
    model.train()
    outputs = generate(model, tokenizer, prompts, max_new_tokens=6, batch_size=4)
    assert tokenizer.padding_side == "right" and model.training  # both restored
    model.eval()
    alone = [generate(model, tokenizer, [p], max_new_tokens=6, batch_size=4)[0] for p in prompts]
    assert outputs == alone
    assert generate(model, tokenizer, prompts[::-1], max_new_tokens=6, batch_size=4) == outputs[::-1]
    for prompt, output in zip(prompts, outputs, strict=True):
        content = prompt[0]["content"]
        assert content[:20] not in output and content[-20:] not in output


def read_predictions(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_evaluate_run_writes_predictions_that_match_its_metrics(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    cfg = resolve(load_config(RUN))
    result = evaluate_run(cfg, model, tokenizer, tmp_path / "run")
    fpb_keys = {"accuracy", "macro_f1", "invalid_rate", "majority_rate", "n"}
    assert set(result) == {f"eval/fpb/{k}" for k in fpb_keys} | {
        f"eval/finqa/{k}" for k in ("numeric_accuracy", "invalid_rate", "n")
    }
    assert sorted(p.name for p in (tmp_path / "run" / "predictions").iterdir()) == [
        "finqa.jsonl",
        "fpb.jsonl",
    ]
    for task, accuracy in (("fpb", "accuracy"), ("finqa", "numeric_accuracy")):
        rows = read_predictions(tmp_path / "run" / "predictions" / f"{task}.jsonl")
        spec = cfg.task[task]
        assert [r["index"] for r in rows] == [e["index"] for e in eval_examples(cfg, task)]
        assert len(rows) == result[f"eval/{task}/n"] == 16
        assert result[f"eval/{task}/{accuracy}"] == sum(r["correct"] for r in rows) / len(rows)
        assert result[f"eval/{task}/invalid_rate"] == sum(r["prediction"] is None for r in rows) / len(rows)
        for row in rows:
            again = score_example(row["output"], row["gold"], spec.kind, spec.labels, 0.01)
            assert again == {"prediction": row["prediction"], "correct": row["correct"]}
    golds = Counter(r["gold"] for r in read_predictions(tmp_path / "run" / "predictions" / "fpb.jsonl"))
    assert result["eval/fpb/majority_rate"] == max(golds.values()) / 16


def test_scores_follow_the_answers(model_and_tokenizer, tmp_path):
    # an oracle right on every other example and silent on the rest: the metrics must say so exactly
    def half_right(prompts, max_new_tokens):
        golds = {
            json.dumps(e["prompt"]): e["answer"] for t in ("fpb", "finqa") for e in eval_examples(cfg, t)
        }
        return [f"Answer: {golds[json.dumps(p)]}" if i % 2 == 0 else "" for i, p in enumerate(prompts)]

    cfg = resolve(load_config(RUN))
    result = evaluate_run(cfg, *model_and_tokenizer, run_dir=None, generate=half_right)
    assert result["eval/fpb/accuracy"] == result["eval/finqa/numeric_accuracy"] == 0.5
    assert result["eval/fpb/invalid_rate"] == result["eval/finqa/invalid_rate"] == 0.5
    assert not (tmp_path / "predictions").exists()


def test_a_task_without_a_metric_kind_is_refused():
    cfg = load_config(["data.samples=true"])
    with pytest.raises(ConfigError, match="open_orca"):
        evaluate_task(cfg, "open_orca", lambda prompts, budget: [], run_dir=None)


def test_eval_examples_are_paired_across_seeds_and_training():
    a = load_config(["data.samples=true", "mixture.tasks=[fpb]", "eval.max_examples=10", "seed=1"])
    b = load_config(
        [
            "data.samples=true",
            "mixture.tasks=[fpb]",
            "eval.max_examples=10",
            "seed=7",
            "training.learning_rate=0.001",
            "training.max_steps=3",
        ]
    )
    first = eval_examples(a, "fpb")
    assert first == eval_examples(b, "fpb") and len(first) == 10
    indices = [e["index"] for e in first]
    assert len(set(indices)) == 10 and indices != list(range(10))  # shuffled, no repeats
    assert all(e["answer"] in a.task["fpb"].labels and e["prompt"][0]["role"] == "user" for e in first)
    shorter = load_config(["data.samples=true", "eval.max_examples=4"])
    assert eval_examples(shorter, "fpb") == first[:4]  # a smaller cap is a prefix of the same order
    everything = load_config(["data.samples=true", "eval.max_examples=100000"])
    assert len(eval_examples(everything, "fpb")) == everything.data.sample_eval_rows
