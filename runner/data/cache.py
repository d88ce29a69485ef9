"""Tokenised sources, cached in the store and shared by every run of every sweep.

run: mixft data stats smoke    (the first call tokenises; later calls only read)

An entry holds the first N rows of a source split in its seeded shuffle order, as chat-formatted
token ids with labels (-100 on the prompt, so the loss covers the answer only), truncated to a max
length. Its key hashes the rows' fingerprint, the tokenizer, the prompt format, the max length, the
seed and N, so it is the same on every machine. It is written to a temporary folder and renamed
into place under a lock, so a crash never leaves an entry that a later run trusts.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixft.runner.config.schema import TaskConfig
from mixft.runner.data.format import FORMAT_VERSION, to_examples
from mixft.runner.data.sources import RawSplit
from mixft.runner.data.tokenizer import tokenizer_fingerprint
from mixft.runner.paths import token_cache_root
from mixft.runner.store.atomic import building_dir, exclusive
from mixft.runner.store.identity import canonical_json

CACHE_VERSION = 1
IGNORE = -100  # label of tokens that carry no loss
# Task fields that decide how a row is written out; caps and descriptions do not.
FORMAT_FIELDS = ("kind", "columns", "prompt", "labels", "label_map")


@dataclass
class TokenizedSource:
    # input_ids, labels, n_tokens: the first rows of the seeded shuffle, in that order
    rows: Any
    key: str
    # read from the cache, with no tokenisation
    hit: bool


def permutation(length: int, seed: int) -> Any:
    """Row order of `Dataset.shuffle(seed=seed)`: numpy's PCG64 permutation, the same everywhere."""
    import numpy as np

    return np.random.default_rng(seed).permutation(length)


def cache_key(raw: RawSplit, task: TaskConfig, tokenizer: Any, max_length: int, seed: int, n: int) -> str:
    """SHA-256 naming one cache entry (stable across processes and machines)."""
    task_format = {k: v for k, v in dataclasses.asdict(task).items() if k in FORMAT_FIELDS}
    parts = {
        "version": [CACHE_VERSION, FORMAT_VERSION],
        "source": raw.fingerprint,
        "format": task_format,
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "max_length": max_length,
        "seed": seed,
        "rows": n,
    }
    return hashlib.sha256(canonical_json(parts).encode()).hexdigest()


def tokenize_examples(examples: list[dict[str, Any]], tokenizer: Any, max_length: int) -> dict[str, list]:
    """Token ids and answer-only labels through the tokenizer's chat template, truncated.

    Rows whose answer does not fit in `max_length` tokens after the prompt are dropped.
    """
    prompts = [
        tokenizer.apply_chat_template(e["prompt"], add_generation_prompt=True, tokenize=False)
        for e in examples
    ]
    fulls = [tokenizer.apply_chat_template(e["prompt"] + e["completion"], tokenize=False) for e in examples]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(fulls, add_special_tokens=False)["input_ids"]
    out: dict[str, list] = {"input_ids": [], "labels": [], "n_tokens": []}
    for head, full in zip(prompt_ids, full_ids, strict=True):
        shared = _common_prefix(head, full)
        ids = full[:max_length]
        labels = ([IGNORE] * shared + full[shared:])[:max_length]
        if all(label == IGNORE for label in labels):
            continue
        out["input_ids"].append(ids)
        out["labels"].append(labels)
        out["n_tokens"].append(len(ids))
    return out


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def entry_dir(task: str, key: str) -> Path:
    """Folder of one cache entry."""
    return token_cache_root() / f"{task}-{key[:20]}"


def tokenized_source(
    raw: RawSplit, task: TaskConfig, tokenizer: Any, max_length: int, seed: int, n: int
) -> TokenizedSource:
    """The first `n` rows of `raw` in seeded shuffle order, tokenised (from the cache when there).

    Raises:
        ConfigError: for a bad row (missing column, unknown label, empty field), naming it.
    """
    from datasets import Dataset, load_from_disk

    n = min(n, raw.num_rows)
    key = cache_key(raw, task, tokenizer, max_length, seed, n)
    folder = entry_dir(task.name, key)
    if folder.exists():
        return TokenizedSource(load_from_disk(str(folder)), key, hit=True)
    with exclusive(folder):
        if folder.exists():  # another process built it while we waited
            return TokenizedSource(load_from_disk(str(folder)), key, hit=True)
        order = [int(i) for i in permutation(raw.num_rows, seed)[:n]]
        examples = to_examples(task, raw.rows.select(order), raw.origin, indices=order)
        tokens = Dataset.from_dict(tokenize_examples(examples, tokenizer, max_length))
        with building_dir(folder) as tmp:
            tokens.save_to_disk(str(tmp))
    return TokenizedSource(load_from_disk(str(folder)), key, hit=False)
