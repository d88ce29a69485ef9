"""What one synthetic row is built from: its own RNG, the split's share of each pool of names, and
label blocks that keep any prefix of a sample balanced.

run: python -c "from mixft.runner.data.samples import sample_rows; print(sample_rows('fpb', 'eval', 2))"
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

from mixft.runner.data import sample_text as txt

# every 5th entry of a pool is eval's: about a fifth of the names are never seen in training
EVAL_EVERY = 5
_LINK_CHARS = string.ascii_letters + string.digits


@cache
def split_pool(pool: tuple[Any, ...], split: str) -> tuple[Any, ...]:
    return tuple(v for i, v in enumerate(pool) if (i % EVAL_EVERY == EVAL_EVERY - 1) == (split == "eval"))


@lru_cache(maxsize=4096)
def label_block(task: str, split: str, seed: int, number: int) -> tuple[str, ...]:
    # Labels come in shuffled blocks holding each class CLASS_COUNTS times: any prefix stays within one
    # block of those proportions, so no sample of 64+ rows has a majority class near 0.6.
    block = [
        label for label, k in zip(txt.LABELS[task], txt.CLASS_COUNTS[task], strict=True) for _ in range(k)
    ]
    random.Random(f"{task}/{split}/{seed}/block{number}").shuffle(block)
    return tuple(block)


class Row:
    """What one row is built from: its own RNG, so that row i never depends on the rows before it."""

    def __init__(self, task: str, split: str, seed: int, index: int) -> None:
        self.task, self.split, self.seed, self.index = task, split, seed, index
        self.rng = random.Random(f"{task}/{split}/{seed}/{index}")
        self.id = f"{task}-{split}-{index}"

    def pick(self, pool: tuple[Any, ...]) -> Any:
        """A value from this split's share of `pool`."""
        return self.rng.choice(split_pool(pool, self.split))

    def label(self) -> str:
        size = sum(txt.CLASS_COUNTS[self.task])
        return label_block(self.task, self.split, self.seed, self.index // size)[self.index % size]

    def label_id(self, label: str) -> int:
        return txt.LABELS[self.task].index(label)

    def cue(self, label: str) -> str:
        return self.rng.choice(txt.CUES[self.task][label])

    def text(self, templates: Sequence[str], **slots: Any) -> str:
        """A random template filled with `slots` and common filler (company, numbers, dates, a link)."""
        company, ticker = self.pick(txt.COMPANIES)
        rng = self.rng
        filler = {
            "co": company,
            "tk": ticker,
            "n": rng.randrange(40, 4000),
            "day": rng.choice(txt.DAYS),
            "period": f"{rng.choice(txt.PERIODS)} of {rng.randint(2006, 2023)}",
            "price": f"{rng.uniform(1150, 2100):,.2f}",
            "link": "https://t.co/" + "".join(rng.choices(_LINK_CHARS, k=10)),
        }
        return rng.choice(templates).format(**filler | slots)
