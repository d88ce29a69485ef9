"""Score a model on a run's eval tasks: generation, then the task kind's scorer, then predictions.

run: pytest tests/smoke/test_evaluate.py    |    python tests/bench/eval_speed.py

Every run of a sweep is scored on the same rows of each task (a fixed shuffle seed, not the run's),
so a mixture and its baselines can be compared example by example. Each run writes what the model
said for every example to predictions/<task>.jsonl, so a score can be checked and re-parsed later.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mixft.runner.config.run import eval_tasks
from mixft.runner.config.schema import Config
from mixft.runner.data.cache import permutation
from mixft.runner.data.format import to_examples
from mixft.runner.data.sources import load_split
from mixft.runner.errors import ConfigError
from mixft.runner.evaluate.engines import Generate, Generation, hf_generator
from mixft.runner.evaluate.suites import evaluate_suite
from mixft.runner.scoring.scorers import scorer_for
from mixft.runner.store import rundir

log = logging.getLogger(__name__)

# Shuffle seed of the eval rows: fixed, so that runs with different seeds share their examples.
EVAL_SEED = 0


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


def evaluate_task(
    cfg: Config,
    task: str,
    generate: Generate,
    run_dir: Path | None,
    examples: list[dict[str, Any]] | None = None,
) -> dict[str, float]:
    """Generate answers for one task's eval examples and score them.

    Args:
        cfg: The run config (eval settings and the task catalogue).
        task: A task whose kind has a scorer (scoring/scorers.py).
        generate: The engine's generator (engines.task_generator).
        run_dir: Run directory; when given, predictions/<task>.jsonl is written there (atomically),
            one object per example: index, gold, output, prediction, correct.
        examples: The task's `eval_examples`, when the caller has loaded them already.

    Returns:
        The scorer's metrics: classification: accuracy, macro_f1, invalid_rate, majority_rate
        (chance level), n; numeric_qa: numeric_accuracy, invalid_rate, n.

    Raises:
        ConfigError: The task's kind cannot be scored, or its eval rows cannot be read.
    """
    spec = cfg.task[task]
    try:
        scorer = scorer_for(spec.kind)
    except ConfigError as exc:
        raise ConfigError(f"task '{task}' cannot be scored: {exc}") from None
    examples = eval_examples(cfg, task) if examples is None else examples
    budget = cfg.eval.max_new_tokens if cfg.eval.max_new_tokens is not None else spec.max_new_tokens
    outputs = generate([e["prompt"] for e in examples], budget)
    golds = [e["answer"] for e in examples]
    verdicts = [
        scorer.score(out, gold, spec.labels, cfg.eval.numeric_rel_tol)
        for out, gold in zip(outputs, golds, strict=True)
    ]
    if run_dir is not None:
        rows = [
            {"index": e["index"], "gold": e["answer"], "output": out, **verdict}
            for e, out, verdict in zip(examples, outputs, verdicts, strict=True)
        ]
        rundir.write_predictions(Path(run_dir), task, rows)
    return scorer.aggregate(verdicts, golds, spec.labels)


def evaluate_run(
    cfg: Config,
    model: Any,
    tokenizer: Any,
    run_dir: Path | None,
    examples: dict[str, list[dict[str, Any]]] | None = None,
    generate: Generation | None = None,
) -> dict[str, float]:
    """Score a model on the suites of eval.suites, then on every task of `eval_tasks(cfg)`.

    Args:
        cfg: The run config.
        model: A causal LM: lm-eval's HFLM scores the suites' tasks on it in place, but for generative
            tasks when the engine has a model of its own for lm-eval (vllm).
        tokenizer: Its tokenizer.
        run_dir: Run directory for predictions/<task>.jsonl and suites/; None writes nothing.
        examples: Task -> its `eval_examples`, for the tasks the caller has loaded already.
        generate: The run's generator (engines.task_generator); None: batched hf generation.

    Returns:
        One flat dict {"eval/<task>/<metric>": value} over all tasks, and
        {"suite/<suite>/<task>/<metric>": value} over the tasks of eval.suites.
    """
    result: dict[str, float] = {}
    generate = generate or hf_generator(model, tokenizer, cfg.eval.batch_size)
    for name in cfg.eval.suites:  # first: a vLLM engine moves the model off the GPU at its first use
        result |= evaluate_suite(cfg.suite[name], model, tokenizer, run_dir, generate)
    for task in eval_tasks(cfg):
        scores = evaluate_task(cfg, task, generate, run_dir, (examples or {}).get(task))
        log.info("eval %s: %s", task, " ".join(f"{k}={v:.4g}" for k, v in scores.items()))
        result |= {f"eval/{task}/{k}": v for k, v in scores.items()}
    return result
