"""Run identity: roles and a short hash of the canonical resolved config.

run: mixft plan smoke --format json    (the `id` and `role` of every run)

The id hashes what changes training or evaluation: model, mixture, regulariser, training, eval, the
tasks the run uses and the seed, each section as the SHA-256 of its canonical JSON. Labels (option
names, task descriptions), the tracker and the executor are left out, so renaming a recipe or moving
to SLURM keeps every id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

from mixft.runner.config.schema import Config, TaskConfig

ID_LENGTH = 12  # hex digits: 48 bits, collision-free in practice for millions of runs

Digest = Callable[[Any], str]


def scored(task: TaskConfig) -> bool:
    """True when the task has a metric, so a run can be evaluated on it."""
    return task.metric != "none"


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


# Fields that only label a section; renaming a recipe or a task's description keeps every id.
LABELS = ("name", "description")


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the same text in every process and Python version."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def section_digest(section: Any) -> str:
    """SHA-256 of one config section (a dataclass) without its labels."""
    plain = {k: v for k, v in dataclasses.asdict(section).items() if k not in LABELS}
    return hashlib.sha256(canonical_json(plain).encode("ascii")).hexdigest()


def identity(cfg: Config, digest: Digest = section_digest) -> dict[str, Any]:
    """What a run's id hashes, from a resolved config (see `resolve`): a digest per section.

    Args:
        cfg: A resolved run config.
        digest: Hashes one section; planning passes a memoised one, since runs share sections.

    Returns:
        A JSON-ready dict. Base runs hash only model, eval and the tasks they score.
    """
    role = role_of(cfg)
    ident: dict[str, Any] = {
        "role": role,
        "model": digest(cfg.model),
        "eval": digest(cfg.eval),
        "data": digest(cfg.data),
        "task": {name: digest(task) for name, task in cfg.task.items()},
    }
    if role != "base":
        ident |= {
            "mixture": digest(cfg.mixture),
            "regularizer": digest(cfg.regularizer),
            "training": digest(cfg.training),
            "seed": cfg.seed,
        }
    return ident


def run_id(cfg: Config, digest: Digest = section_digest) -> str:
    """Short hash of a resolved config's identity (12 hex digits of SHA-256)."""
    text = canonical_json(identity(cfg, digest))
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:ID_LENGTH]


class MemoDigest:
    """`section_digest` memoised per object: planned runs share most of their sections."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Any, str]] = {}

    def __call__(self, section: Any) -> str:
        hit = self._memo.get(id(section))
        if hit is None or hit[0] is not section:
            hit = (section, section_digest(section))
            self._memo[id(section)] = hit
        return hit[1]
