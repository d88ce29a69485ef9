"""The engine interface: what generates a run's answers, and what engine.json says of it.

run: mixft sweep smoke eval.engine=hf    |    mixft sweep smoke eval.engine=vllm (where vLLM runs)

An engine says whether it can run here (`unusable`), whether `eval.engine=auto` should take it on this
device kind and why (`preferred`), what it records (`record`), builds the generator of a run's
evaluation (`generation`) and frees what it holds (`close`). The generator answers chat prompts; an
engine may also hand lm-eval a model for a suite's generative tasks (`Generation.suite_model`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

from mixft.runner.config.eval_schema import SuiteConfig
from mixft.runner.config.schema import Config

# (chat prompts, generation budget in tokens) -> answers, in order
Generate = Callable[[list[list[dict[str, str]]], int], list[str]]


@dataclass
class Generation:
    """A run's generator on one engine: call it with (prompts, budget in tokens) for the answers.

    Attributes:
        engine: The engine's name (hf, vllm).
        answer: The function that generates.
        suite_model: suite -> an lm-eval model for the suite's generative tasks on this engine, or None
            when lm-eval's HFLM on the loaded model scores them (hf).
    """

    engine: str
    answer: Generate
    suite_model: Callable[[SuiteConfig], Any] | None = None

    def __call__(self, prompts: list[list[dict[str, str]]], budget: int) -> list[str]:
        return self.answer(prompts, budget)


def distribution_version(*names: str) -> str:
    """The installed version of the first of `names` that is installed ("unknown" when none is)."""
    for name in names:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "unknown"


class Engine(ABC):
    """A generation engine. Subclasses set `name` (the value of eval.engine) and `distributions` (the
    packages whose version engine.json records, first installed one wins)."""

    name: ClassVar[str]
    distributions: ClassVar[tuple[str, ...]]

    @classmethod
    def unusable(cls, cfg: Config) -> str | None:
        """Why this engine cannot generate for `cfg` here (one line), or None when it can."""
        return None

    @classmethod
    def preferred(cls, cfg: Config) -> tuple[bool, str]:
        """Whether eval.engine=auto takes this engine on this device kind, and the measured reason."""
        return False, f"{cls.name} is not preferred"

    @classmethod
    def record(cls) -> dict[str, str]:
        """What engine.json says: the engine's name and its library's version."""
        return {"engine": cls.name, "version": distribution_version(*cls.distributions)}

    @classmethod
    @abstractmethod
    def generation(
        cls, cfg: Config, model: Any, tokenizer: Any, base: str, weights: str | None
    ) -> Generation:
        """The generator of a run's evaluation on this engine.

        Args:
            cfg: The run config, its eval.engine resolved.
            model: The model as loaded (or trained) in this process.
            tokenizer: Its tokenizer: prompts are tokenized once, the same for every engine.
            base: Where the base model's weights are (a hub id or a folder).
            weights: The weights to generate with: the base's, or the training's kept model/ folder;
                None when they are only in memory.
        """

    @classmethod
    def close(cls) -> None:
        """Free what this engine holds in this process (loaded engines, temporary weights)."""
        return None
