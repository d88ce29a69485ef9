"""What `mixft data` shows: examples through a chat template, mix statistics, file checks.

run: mixft data show fpb -n 2 --samples    |    mixft data stats smoke    |    mixft data validate f.jsonl --task fpb
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from mixft.runner.config.load import load_config
from mixft.runner.config.run import summary
from mixft.runner.config.schema import Config
from mixft.runner.errors import unknown


def show_examples(task: str, n: int, split: str, overrides: list[str]) -> list[dict[str, Any]]:
    """The first `n` rows of a split in seeded shuffle order, rendered by the model's chat template.

    Training rows show prompt and answer; eval rows show the prompt the model continues, and the gold.
    """
    from mixft.runner.data.build import mix_seed
    from mixft.runner.data.cache import permutation
    from mixft.runner.data.format import to_examples
    from mixft.runner.data.sources import load_split
    from mixft.runner.data.tokenizer import load_tokenizer

    cfg = load_config(overrides)
    if task not in cfg.task:
        raise unknown("task", task, cfg.task)
    raw = load_split(cfg.task[task], split, cfg.data)
    order = [int(i) for i in permutation(raw.num_rows, mix_seed(cfg))[:n]]
    tokenizer = load_tokenizer(cfg.model)
    shown = []
    for index, example in zip(
        order, to_examples(cfg.task[task], raw.rows.select(order), raw.origin, order), strict=True
    ):
        messages = example["prompt"] + (example["completion"] if split == "train" else [])
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=split != "train", tokenize=False)
        tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        shown.append(
            {
                "row": index + 1,
                "origin": raw.origin,
                "text": text,
                "tokens": tokens,
                "answer": example["answer"],
            }
        )
    return shown


def mixture_stats(configs: list[tuple[str, Config]]) -> list[dict[str, Any]]:
    """Manifest of every training mix (tokenising what is not cached), with its run's summary.

    Args:
        configs: (run id, resolved config) of each mix, e.g. from `plan.mixes.training_configs`.
    """
    from mixft.runner.data.build import build_training_set
    from mixft.runner.data.tokenizer import load_tokenizer

    tokenizers: dict[str, Any] = {}
    out = []
    for rid, cfg in configs:
        if cfg.model.name not in tokenizers:
            tokenizers[cfg.model.name] = load_tokenizer(cfg.model)
        built = build_training_set(cfg, tokenizers[cfg.model.name])
        out.append({"id": rid, **summary(cfg), "cache_hits": built.cache_hits, "manifest": built.manifest})
    return out


def validate_file(file: str, task: str) -> dict[str, Any]:
    """Check every row of a local file against a task; the first bad row raises ConfigError."""
    from mixft.runner.data.format import to_examples
    from mixft.runner.data.sources import read_local

    tasks = load_config([]).task
    if task not in tasks:
        raise unknown("task", task, tasks)
    examples = to_examples(tasks[task], read_local(Path(file)), file)
    labels = Counter(e["answer"] for e in examples) if tasks[task].labels else Counter()
    return {"rows": len(examples), "labels": dict(sorted(labels.items()))}
