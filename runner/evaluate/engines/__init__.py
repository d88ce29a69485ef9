"""Generation engines of evaluations, behind one interface (base.py), registered by name.

run: mixft sweep smoke eval.engine=hf|vllm|auto

The run process resolves eval.engine once (`resolve_engine`: auto takes the first registered engine
other than hf that is preferred on this device kind and can run, and the run's log says which and
why), records it (engine.json, the W&B config; `mixft compare` pairs only runs of one engine), builds
its generator (`task_generator`) and frees it at exit (`close_engines`).

Adding an engine: a module here with an `Engine` subclass, one line in ENGINES, and its name in
`ENGINES` of runner/config/eval_schema.py (the config layer validates eval.engine; a unit test checks
the two agree).
"""

from __future__ import annotations

import functools
import logging
from multiprocessing import util
from typing import Any

from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError, unknown
from mixft.runner.evaluate.engines.base import Engine, Generate, Generation
from mixft.runner.evaluate.engines.hf import HfEngine
from mixft.runner.evaluate.engines.vllm import VllmEngine

__all__ = [
    "ENGINES",
    "Generate",
    "Generation",
    "close_engines",
    "engine_for",
    "engine_record",
    "hf_generator",
    "resolve_engine",
    "task_generator",
]

log = logging.getLogger(__name__)

ENGINES: dict[str, type[Engine]] = {cls.name: cls for cls in (HfEngine, VllmEngine)}
DEFAULT = HfEngine.name


def engine_for(name: str) -> type[Engine]:
    """The engine registered as `name`.

    Raises:
        ConfigError: no engine of that name is registered.
    """
    if name not in ENGINES:
        raise unknown("eval.engine", name, ENGINES)
    return ENGINES[name]


def resolve_engine(cfg: Config) -> str:
    """The engine a run generates with (auto resolved), logged with the reason it was taken.

    Raises:
        ConfigError: the engine eval.engine names cannot run this config here (one line).
    """
    requested = cfg.eval.engine
    if requested != "auto":
        reason = engine_for(requested).unusable(cfg)
        if reason is not None:
            raise ConfigError(reason)
        log.info("eval.engine=%s: generating with %s (asked for)", requested, requested)
        return requested
    reasons = []
    for name, engine in ENGINES.items():
        if name == DEFAULT:
            continue
        wanted, why = engine.preferred(cfg)
        blocked = engine.unusable(cfg) if wanted else None
        if wanted and blocked is None:
            log.info("eval.engine=auto: generating with %s (%s)", name, why)
            return name
        reasons.append(f"not {name}: {blocked or why}")
    log.info("eval.engine=auto: generating with %s (%s)", DEFAULT, "; ".join(reasons))
    return DEFAULT


def engine_record(name: str) -> dict[str, str]:
    """What engine.json says of a resolved engine: its name and its library's version."""
    return engine_for(name).record()


def task_generator(cfg: Config, model: Any, tokenizer: Any, base: str, weights: str | None) -> Generation:
    """The generator of a run's evaluation on the engine `cfg.eval.engine` names (resolved); see
    `Engine.generation` for the arguments. The engine is freed when this process exits."""
    _close_at_exit()
    return engine_for(cfg.eval.engine).generation(cfg, model, tokenizer, base, weights)


def hf_generator(model: Any, tokenizer: Any, batch_size: int) -> Generation:
    """Batched transformers generation of `batch_size` prompts a call, on a loaded model."""
    from mixft.runner.evaluate.generation import generate

    return Generation(
        HfEngine.name, lambda prompts, budget: generate(model, tokenizer, prompts, budget, batch_size)
    )


@functools.cache
def _close_at_exit() -> None:
    # multiprocessing's exit hook runs in a run process forked from the fork server, where atexit
    # does not (it ends with os._exit), and through atexit in any other process
    util.Finalize(None, close_engines, exitpriority=10)


def close_engines() -> None:
    """Free every engine's loaded models and temporary weights in this process."""
    for engine in ENGINES.values():
        engine.close()
