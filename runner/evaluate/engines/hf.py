"""The hf engine: batched greedy generation with transformers, on the model the run already holds.

run: mixft sweep smoke eval.engine=hf    |    python tests/bench/eval_speed.py

It runs wherever mixft does, so it is what eval.engine=auto falls back to; lm-eval's HFLM scores a
suite's tasks on the same model.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mixft.runner.config.schema import Config
from mixft.runner.evaluate.engines.base import Engine, Generation
from mixft.runner.evaluate.generation import generate


class HfEngine(Engine):
    """transformers' `generate` over left-padded batches of eval.batch_size prompts."""

    name: ClassVar[str] = "hf"
    distributions: ClassVar[tuple[str, ...]] = ("transformers",)

    @classmethod
    def preferred(cls, cfg: Config) -> tuple[bool, str]:
        return True, "hf runs everywhere"

    @classmethod
    def generation(
        cls, cfg: Config, model: Any, tokenizer: Any, base: str, weights: str | None
    ) -> Generation:
        return Generation(
            cls.name, lambda prompts, budget: generate(model, tokenizer, prompts, budget, cfg.eval.batch_size)
        )
