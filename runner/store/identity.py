"""Run identity: a short hash of the canonical resolved config, and canonical JSON for every key.

run: mixft plan smoke --format json    (the `id` of every run)

The id hashes what changes training or evaluation: model, mixture, regulariser, training, eval, the
tasks the run uses and the seed, each section as the SHA-256 of its canonical JSON. Labels (option
names, task descriptions, a task's typical sizes for cost estimates), the tracker and the executor
are left out, so renaming a recipe or moving to SLURM keeps every id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

from mixft.runner.config.run import role_of
from mixft.runner.config.schema import Config

ID_LENGTH = 12  # hex digits: 48 bits, collision-free in practice for millions of runs

Digest = Callable[[Any], str]


# Fields that only label a section (or estimate its cost); renaming a recipe or a task's description
# keeps every id.
LABELS = ("name", "description", "typical")


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
