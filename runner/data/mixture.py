"""How many rows each source gives a run's training mix: pure arithmetic on source sizes.

run: mixft data stats smoke    (requested and realised rows per source)

The study's default: every task is shuffled with the seed and capped (`max_examples`, or
`mixture.caps`); regulariser sources are sized as a ratio of the task pool (the capped rows of the
pool's tasks, whichever tasks the mix holds); everything is concatenated and shuffled once.
Optional `mixture.shares` fix each task's fraction of the task rows instead of caps, and
`mixture.budget` scales the whole mix (tasks and regularisers alike) to a total. A source is never
repeated more than `mixture.max_repeat` times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError


@dataclass
class Allocation:
    source: str
    # task | regularizer
    role: str
    # rows in the source's train split
    available: int
    # rows the config asks for
    requested: int
    # rows the mix takes; above `available` means rows repeat
    rows: int
    # fraction of the task rows asked for by mixture.shares, if any
    share_requested: float | None = None


def apportion(weights: list[float], total: int) -> list[int]:
    """Split `total` in proportion to `weights` into whole numbers that sum to `total` exactly."""
    # exact fractions: with floats, a total past 2**53 rounds and the counts miss it
    fractions = [Fraction(w) for w in weights]
    mass = sum(fractions)
    if mass <= 0:
        return [0] * len(weights)
    exact = [f * total / mass for f in fractions]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def pool_names(cfg: Config) -> list[str]:
    """The pool's tasks: mixture.pool, else the run's tasks that are not themselves pool-sized."""
    return list(cfg.mixture.pool) or [t for t in cfg.mixture.tasks if cfg.task[t].pool_ratio is None]


def pool_rows(cfg: Config, available: dict[str, int]) -> int:
    """Capped rows of the pool's tasks: what regulariser ratios multiply."""
    total = 0
    for name in pool_names(cfg):
        if cfg.task[name].pool_ratio is not None:
            raise ConfigError(f"mixture.pool: task '{name}' is itself sized from the pool; leave it out")
        cap = cfg.mixture.caps.get(name, cfg.task[name].max_examples)
        total += min(cap, available[name]) if cap is not None else available[name]
    return total


def _task_requests(cfg: Config, available: dict[str, int], pool: int) -> dict[str, int]:
    requests = {}
    for name in cfg.mixture.tasks:
        task = cfg.task[name]
        if name in cfg.mixture.caps:
            requests[name] = cfg.mixture.caps[name]
        elif task.pool_ratio is not None:
            requests[name] = round(task.pool_ratio * pool)
        else:
            requests[name] = min(task.max_examples or available[name], available[name])
    if cfg.mixture.shares:
        names = list(requests)
        shares = [cfg.mixture.shares[n] for n in names]
        requests = dict(zip(names, apportion(shares, sum(requests.values())), strict=True))
    return requests


def allocate(cfg: Config, available: dict[str, int]) -> list[Allocation]:
    """Rows per training source, tasks first then regulariser sources, in name order.

    Args:
        cfg: A run config.
        available: Rows in the train split of every training and pool source.

    Raises:
        ConfigError: when a source is both a task and a regulariser, or the mix would be empty.
    """
    both = sorted(set(cfg.mixture.tasks) & set(cfg.regularizer.sources))
    if both:
        raise ConfigError(f"{both} are both mixture tasks and regulariser sources; name each once")
    pool = pool_rows(cfg, available)
    requests = dict(sorted(_task_requests(cfg, available, pool).items()))
    roles = dict.fromkeys(requests, "task")
    for name, ratio in sorted(cfg.regularizer.sources.items()):
        requests[name], roles[name] = round(ratio * pool), "regularizer"
    if cfg.mixture.budget.unit == "examples" and cfg.mixture.budget.total is not None:
        scaled = apportion([float(r) for r in requests.values()], cfg.mixture.budget.total)
        requests = dict(zip(requests, scaled, strict=True))
    allocations = []
    for name, requested in requests.items():
        limit = math.floor(cfg.mixture.max_repeat * available[name])
        share = cfg.mixture.shares.get(name) if roles[name] == "task" else None
        allocations.append(
            Allocation(name, roles[name], available[name], requested, min(requested, limit), share)
        )
    if sum(a.rows for a in allocations) == 0:
        detail = ", ".join(f"{a.source}: {a.rows} of {a.available}" for a in allocations) or "no sources"
        raise ConfigError(f"the mixture is empty ({detail}); check mixture.tasks, caps, shares and budget")
    return allocations


def rows_for_tokens(token_counts: list[int], target: int, max_repeat: float) -> int:
    """Rows to take, in order and repeating, until `target` tokens are reached (a token budget)."""
    if not token_counts or target <= 0:
        return 0
    per_pass = sum(token_counts)
    limit = math.floor(max_repeat * len(token_counts))
    full_passes, rest = divmod(target, per_pass) if per_pass else (0, 0)
    rows, seen = full_passes * len(token_counts), 0
    for count in token_counts:
        if seen >= rest:
            break
        seen += count
        rows += 1
    return min(rows, limit)
