"""Score a model on a run's eval tasks: batched greedy generation, parsing, metrics, predictions.

run: pytest tests/smoke/test_evaluate.py    |    python tests/bench/eval_speed.py

Every run of a sweep is scored on the same rows of each task (a fixed shuffle seed, not the run's),
so a mixture and its baselines can be compared example by example. Each run writes what the model
said for every example to predictions/<task>.jsonl, so a score can be checked and re-parsed later.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from mixft.runner.config.run import eval_tasks
from mixft.runner.config.schema import Config, TaskConfig
from mixft.runner.data.cache import permutation
from mixft.runner.data.format import to_examples
from mixft.runner.data.sources import load_split
from mixft.runner.errors import ConfigError
from mixft.runner.scoring import metrics
from mixft.runner.store.atomic import write_text

log = logging.getLogger(__name__)

# Shuffle seed of the eval rows: fixed, so that runs with different seeds share their examples.
EVAL_SEED = 0
KINDS = ("classification", "numeric_qa")


def eval_examples(cfg: Config, task: str) -> list[dict[str, Any]]:
    """The rows a run is scored on for one task: the same for every run of a sweep.

    Args:
        cfg: A run config; only `cfg.task[task]`, `cfg.data` and `cfg.eval.max_examples` matter.
        task: A task name in `cfg.task`.

    Returns:
        The first `cfg.eval.max_examples` rows (all when null) of the eval split in the order of
        `permutation(num_rows, EVAL_SEED)`, each as {"index": row position in the source,
        "prompt": chat messages, "answer": gold text}.

    Raises:
        ConfigError: The task has no eval split, or a row cannot be formatted (naming the row).
    """
    spec = cfg.task[task]
    raw = load_split(spec, "eval", cfg.data)
    limit = cfg.eval.max_examples
    n = raw.num_rows if limit is None else min(limit, raw.num_rows)
    order = [int(i) for i in permutation(raw.num_rows, EVAL_SEED)[:n]]
    examples = to_examples(spec, raw.rows.select(order), raw.origin, indices=order)
    return [
        {"index": i, "prompt": e["prompt"], "answer": e["answer"]}
        for i, e in zip(order, examples, strict=True)
    ]


def _stop_ids(model: Any, tokenizer: Any) -> list[int]:
    # Chat models often end a turn with a token other than the tokenizer's eos (Phi-3: <|end|>,
    # Llama 3: <|eot_id|>); their generation config lists those too, so stop at any of them.
    ids = [tokenizer.eos_token_id]
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for extra in configured if isinstance(configured, list) else [configured]:
        if extra is not None and extra not in ids:
            ids.append(extra)
    return ids


def _generate_batch(model: Any, tokenizer: Any, ids: list[list[int]], max_new_tokens: int) -> list[str]:
    inputs = tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(model.device)  # left-padded
    out = model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=_stop_ids(model, tokenizer),
    )
    # every row's prompt ends at the same column, so the new tokens are the columns after it
    new = out[:, inputs["input_ids"].shape[1] :]
    return [text.strip() for text in tokenizer.batch_decode(new, skip_special_tokens=True)]


def generate(
    model: Any, tokenizer: Any, prompts: list[list[dict[str, str]]], max_new_tokens: int, batch_size: int
) -> list[str]:
    """Greedy answers to chat prompts, generated in batches.

    Prompts are sorted by token length (longest first, so a batch that does not fit in memory fails at
    once) and left-padded, so every row's answer starts right after its own prompt.

    Args:
        model: A causal LM (transformers); switched to eval mode for the call.
        tokenizer: Its tokenizer, with a chat template and a pad token.
        prompts: One list of chat messages per prompt.
        max_new_tokens: Generation budget per prompt, in tokens.
        batch_size: Prompts per `model.generate` call.

    Returns:
        The generated text of each prompt (new tokens only, special tokens dropped, stripped), in the
        order of `prompts`.
    """
    import torch

    if not prompts:
        return []
    texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
    # the chat template already writes any BOS token the model expects
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    step = max(1, batch_size)
    outputs = [""] * len(ids)
    side, was_training = tokenizer.padding_side, model.training
    tokenizer.padding_side = "left"
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), step):
                batch = order[start : start + step]
                answers = _generate_batch(model, tokenizer, [ids[i] for i in batch], max_new_tokens)
                for i, answer in zip(batch, answers, strict=True):
                    outputs[i] = answer
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return outputs


def _aggregate(spec: TaskConfig, scores: list[dict[str, Any]], golds: list[str]) -> dict[str, float]:
    preds = [s["prediction"] for s in scores]
    if spec.kind == "classification":
        result = metrics.classification_metrics(preds, golds, spec.labels)
        result["majority_rate"] = Counter(golds).most_common(1)[0][1] / len(golds)
        return result
    # From score_example's verdicts rather than numeric_metrics: a gold without a number ("yes")
    # is scored by name there, and numeric_metrics only takes numbers.
    n = len(scores)
    return {
        "numeric_accuracy": sum(s["correct"] for s in scores) / n,
        "invalid_rate": sum(p is None for p in preds) / n,
        "n": n,
    }


def evaluate_task(
    cfg: Config, task: str, model: Any, tokenizer: Any, run_dir: Path | None
) -> dict[str, float]:
    """Generate answers for one task's eval examples and score them.

    Args:
        cfg: The run config (eval settings and the task catalogue).
        task: A task of kind classification or numeric_qa.
        model: A causal LM.
        tokenizer: Its tokenizer.
        run_dir: Run directory; when given, predictions/<task>.jsonl is written there (atomically),
            one object per example: index, gold, output, prediction, correct.

    Returns:
        classification: accuracy, macro_f1, invalid_rate, majority_rate (chance level), n;
        numeric_qa: numeric_accuracy, invalid_rate, n.

    Raises:
        ConfigError: The task's kind cannot be scored, or its eval rows cannot be read.
    """
    spec = cfg.task[task]
    if spec.kind not in KINDS:
        raise ConfigError(
            f"task '{task}': kind '{spec.kind}' cannot be scored; use one of {', '.join(KINDS)}"
        )
    examples = eval_examples(cfg, task)
    budget = cfg.eval.max_new_tokens if cfg.eval.max_new_tokens is not None else spec.max_new_tokens
    outputs = generate(model, tokenizer, [e["prompt"] for e in examples], budget, cfg.eval.batch_size)
    golds = [e["answer"] for e in examples]
    scores = [
        metrics.score_example(out, gold, spec.kind, spec.labels, cfg.eval.numeric_rel_tol)
        for out, gold in zip(outputs, golds, strict=True)
    ]
    if run_dir is not None:
        rows = [
            {"index": e["index"], "gold": e["answer"], "output": out, **score}
            for e, out, score in zip(examples, outputs, scores, strict=True)
        ]
        text = "".join(json.dumps(row) + "\n" for row in rows)
        write_text(Path(run_dir) / "predictions" / f"{task}.jsonl", text)
    return _aggregate(spec, scores, golds)


def evaluate_run(cfg: Config, model: Any, tokenizer: Any, run_dir: Path | None) -> dict[str, float]:
    """Score a model on every task of `eval_tasks(cfg)`.

    Args:
        cfg: The run config.
        model: A causal LM.
        tokenizer: Its tokenizer.
        run_dir: Run directory for predictions/<task>.jsonl; None writes nothing.

    Returns:
        One flat dict {"eval/<task>/<metric>": value} over all tasks.
    """
    result: dict[str, float] = {}
    for task in eval_tasks(cfg):
        scores = evaluate_task(cfg, task, model, tokenizer, run_dir)
        log.info("eval %s: %s", task, " ".join(f"{k}={v:.4g}" for k, v in scores.items()))
        result |= {f"eval/{task}/{k}": v for k, v in scores.items()}
    return result
