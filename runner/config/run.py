"""What one run is, in the words every other part uses: its role, targets, eval tasks, training
sources, epochs, and the summary each record and display shows of it.

run: mixft plan smoke --format json    (each run's role, tasks and eval_tasks)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mixft.runner.config.schema import Config, TaskConfig
from mixft.runner.scoring.scorers import NO_METRIC


def scored(task: TaskConfig) -> bool:
    """True when the task has a metric, so a run can be evaluated on it."""
    return task.metric != NO_METRIC


def targets(cfg: Config) -> list[str]:
    """Trained tasks that have a metric: the tasks a mixture is compared on."""
    return sorted(t for t in cfg.mixture.tasks if scored(cfg.task[t]))


def eval_tasks(cfg: Config) -> list[str]:
    """Tasks this run is scored on: its targets (unless turned off) and eval.tasks."""
    extra = set(targets(cfg)) if cfg.eval.include_targets else set()
    return sorted(extra | set(cfg.eval.tasks))


def role_of(cfg: Config) -> str:
    """base: no training; baseline: one task, no regulariser; mixture: anything else."""
    if not cfg.mixture.tasks and not cfg.regularizer.sources:
        return "base"
    if len(cfg.mixture.tasks) == 1 and not cfg.regularizer.sources:
        return "baseline"
    return "mixture"


def used_tasks(cfg: Config) -> set[str]:
    """Tasks a run reads: trained, pooled, regulariser and scored ones."""
    return (
        set(cfg.mixture.tasks) | set(cfg.mixture.pool) | set(cfg.regularizer.sources) | set(eval_tasks(cfg))
    )


def _sorted_lists(section: Any, *names: str) -> Any:
    """The section with these task lists sorted; the same object when they already are."""
    changes = {n: sorted(getattr(section, n)) for n in names}
    if all(changes[n] == getattr(section, n) for n in names):
        return section
    return dataclasses.replace(section, **changes)


def sort_task_lists(cfg: Config) -> Config:
    """Sort the task lists, whose order means nothing (mixture.tasks, mixture.pool, eval.tasks)."""
    mixture = _sorted_lists(cfg.mixture, "tasks", "pool")
    evaluation = _sorted_lists(cfg.eval, "tasks")
    if mixture is cfg.mixture and evaluation is cfg.eval:
        return cfg
    return dataclasses.replace(cfg, mixture=mixture, eval=evaluation)


def resolve(cfg: Config) -> Config:
    """Canonical form of a run's config: task lists sorted, catalogue cut to the tasks it uses."""
    cfg = sort_task_lists(cfg)
    keep = used_tasks(cfg)
    return dataclasses.replace(cfg, task={k: v for k, v in sorted(cfg.task.items()) if k in keep})


def training_sources(cfg: Config) -> list[str]:
    """Every source a run trains on: its mixture tasks, then its regulariser sources."""
    return [*cfg.mixture.tasks, *cfg.regularizer.sources]


def epochs_and_warmup(cfg: Config) -> tuple[float, int]:
    """Epochs and warm-up steps of a run: the first `training.epochs_by_sources` rule that admits its
    number of training sources (the study: <= 3 -> 3 epochs, else 2 + 10 warm-up), else the recipe's."""
    n_sources = len(training_sources(cfg))
    for rule in cfg.training.epochs_by_sources:
        if rule.max_sources is None or n_sources <= rule.max_sources:
            return rule.num_train_epochs, rule.warmup_steps
    return cfg.training.num_train_epochs, cfg.training.warmup_steps


def kept_weights(cfg: Config) -> str:
    """What a training keeps: training.keep, or the final model (full) / the adapter (LoRA, QLoRA)."""
    return cfg.training.keep or ("final" if cfg.training.method == "full" else "adapter")


def summary(cfg: Config, role: str | None = None) -> dict[str, Any]:
    """What every record and display shows of a run: model, tasks, regularizer, seed, role."""
    return {
        "model": cfg.model.name,
        "tasks": list(cfg.mixture.tasks),
        "regularizer": cfg.regularizer.name,
        "seed": cfg.seed,
        "role": role or role_of(cfg),
    }


def run_name(cfg: Config) -> str:
    """A readable one-line name: model · tasks joined by + (or base) · regulariser · s<seed>."""
    tasks = "+".join(cfg.mixture.tasks) or "base"
    return f"{cfg.model.name} · {tasks} · {cfg.regularizer.name} · s{cfg.seed}"
