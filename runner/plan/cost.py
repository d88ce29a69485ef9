"""What a plan costs: training tokens, FLOPs and GPU-hours, per run and per sweep.

run: mixft plan cocktail_paper --gpu H100 --mfu 0.4    |    mixft plan smoke --format json

Training tokens = rows x tokens per row x epochs (training.epochs_by_sources); FLOPs and GPU-hours
follow from them (plan/hardware.py). Evaluation runs each prompt (taken as long as a training row)
and max_new_tokens per example in full (an upper bound: answers stop early). "cache": measured, from
the run's own manifest.json (exact), or tokens per row and split sizes per model and source from
any manifest in the store (store/measured.py). "estimate": rows from the caps and pool ratios, tokens
per row and eval rows from each task's `typical:` sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mixft.runner.config.run import epochs_and_warmup, eval_tasks, kept_weights, role_of
from mixft.runner.config.schema import Config
from mixft.runner.data.mixture import allocate, pool_names
from mixft.runner.data.sources import from_samples
from mixft.runner.errors import ConfigError
from mixft.runner.plan.hardware import Hardware, eval_flops, train_flops
from mixft.runner.plan.memory import adapter_parameters, estimate_memory
from mixft.runner.store.measured import StoreStats

if TYPE_CHECKING:
    from mixft.runner.plan.grid import Plan

UNKNOWN_ROWS = 10_000  # an uncapped task whose size nothing measured (as the sweep's ordering assumes)
AS_ASKED = 10**12  # "as many rows as asked for": a capped or pool-sized source of unmeasured size


def _tokens_per_row(cfg: Config, name: str, stats: StoreStats) -> tuple[float, bool]:
    stat = stats.source(cfg, name)
    if stat is not None:
        return stat.tokens / stat.rows, True
    return float(min(cfg.task[name].typical.tokens_per_row, cfg.training.max_length)), False


def _available(cfg: Config, name: str, stats: StoreStats) -> int:
    stat = stats.source(cfg, name)
    task = cfg.task[name]
    if from_samples(task, cfg.data):
        return cfg.data.sample_train_rows
    if stat is not None and stat.available:
        return stat.available
    return AS_ASKED if task.max_examples or task.pool_ratio or name in cfg.mixture.caps else UNKNOWN_ROWS


def epoch_tokens(cfg: Config, run_id: str, stats: StoreStats) -> tuple[float, int, bool]:
    """Tokens and rows of one epoch of a run's mix, and whether every figure was measured.

    Raises:
        ConfigError: The mix cannot be built (see `mixture.allocate`).
    """
    trained = run_id.partition("-")[0]  # manifests are the training's
    if trained in stats.runs:
        tokens, rows = stats.runs[trained]
        return float(tokens), rows, True
    names = set(cfg.mixture.tasks) | set(cfg.regularizer.sources) | set(cfg.mixture.pool)
    allocations = allocate(cfg, {name: _available(cfg, name, stats) for name in names})
    # regulariser rows follow the pool's split sizes: measured too, unless the sample suite fixes them
    tokens = 0.0
    measured = all(from_samples(cfg.task[n], cfg.data) or stats.source(cfg, n) for n in pool_names(cfg))
    for a in allocations:
        per_row, known = _tokens_per_row(cfg, a.source, stats)
        tokens, measured = tokens + a.rows * per_row, measured and known
    if cfg.mixture.budget.unit == "tokens" and cfg.mixture.budget.total is not None:
        tokens = min(tokens, float(cfg.mixture.budget.total))
    return tokens, sum(a.rows for a in allocations), measured


def training_tokens(cfg: Config, run_id: str, stats: StoreStats) -> tuple[float, float, bool]:
    """Tokens a run trains on (epochs included, max_steps respected), its epochs, and if measured."""
    if role_of(cfg) == "base":
        return 0.0, 0.0, False
    t = cfg.training
    epochs, _ = epochs_and_warmup(cfg)
    per_epoch, rows, measured = epoch_tokens(cfg, run_id, stats)
    tokens = per_epoch * epochs
    if t.max_steps > 0:  # one device: each step reads batch x accumulation sequences
        sequence = t.max_length if t.packing else per_epoch / max(rows, 1)
        tokens = min(
            tokens, t.max_steps * t.per_device_train_batch_size * t.gradient_accumulation_steps * sequence
        )
    return tokens, epochs, measured


def optimizer_steps(cfg: Config, run_id: str, stats: StoreStats) -> int:
    """Optimizer steps of a run's training on one device: batches of an epoch (rows over the batch
    size, over gradient accumulation) times its epochs, at most training.max_steps when set. With
    packing, rows are the unpacked ones: an upper bound."""
    t = cfg.training
    epochs, _ = epochs_and_warmup(cfg)
    _, rows, _ = epoch_tokens(cfg, run_id, stats)
    per_epoch = math.ceil(math.ceil(rows / t.per_device_train_batch_size) / t.gradient_accumulation_steps)
    steps = max(1, math.ceil(per_epoch * epochs))
    return min(steps, t.max_steps) if t.max_steps > 0 else steps


def generated_tokens(cfg: Config, stats: StoreStats) -> float:
    """Tokens evaluation runs through the model: prompts plus max_new_tokens, over every eval task."""
    total = 0.0
    for name in eval_tasks(cfg):
        task = cfg.task[name]
        rows = cfg.data.sample_eval_rows if cfg.data.samples else task.typical.eval_rows
        if cfg.eval.max_examples is not None:
            rows = min(rows, cfg.eval.max_examples)
        new = cfg.eval.max_new_tokens if cfg.eval.max_new_tokens is not None else task.max_new_tokens
        total += rows * (_tokens_per_row(cfg, name, stats)[0] + new)
    return total


@dataclass(frozen=True)
class RunCost:
    """One run's figures; tokens_source is "cache" (measured) or "estimate" ("n/a" with an error)."""

    tokens: int
    tokens_source: str
    epochs: float
    train_flops: float
    eval_flops: float
    gpu_hours: float
    error: str | None = None
    # bytes of the weights its training keeps (training.keep)
    disk_bytes: float = 0.0
    # bytes of GPU memory it reserves when packed (plan/memory.py's budget)
    memory_bytes: float = 0.0
    # bytes allocated at its peak (plan/memory.py's peak: what train/peak_memory_gb measures)
    peak_bytes: float = 0.0

    def row(self) -> dict[str, Any]:
        """The figures as `mixft plan --format json` keys."""
        return {
            "tokens": self.tokens,
            "tokens_source": self.tokens_source,
            "epochs": self.epochs,
            "train_flops": self.train_flops,
            "eval_flops": self.eval_flops,
            "gpu_hours": float(f"{self.gpu_hours:.4g}"),  # 4 significant digits
            "disk_gb": float(f"{self.disk_bytes / 1e9:.4g}"),
            "memory_gb": float(f"{self.memory_bytes / 1e9:.4g}"),
            "peak_memory_gb": float(f"{self.peak_bytes / 1e9:.4g}"),
        }


def run_cost(cfg: Config, run_id: str, stats: StoreStats, hw: Hardware) -> RunCost:
    """Tokens, FLOPs and GPU-hours of one planned run (a mix that cannot be built gets "n/a")."""
    try:
        tokens, epochs, measured = training_tokens(cfg, run_id, stats)
    except ConfigError as exc:
        return RunCost(0, "n/a", 0.0, 0.0, 0.0, 0.0, error=str(exc))
    n = cfg.model.num_parameters
    train, evals = train_flops(n, tokens, cfg.training.method), eval_flops(n, generated_tokens(cfg, stats))
    source = "cache" if measured else "estimate"
    hours = hw.gpu_hours(train + evals)
    memory = estimate_memory(cfg)
    return RunCost(
        round(tokens), source, epochs, train, evals, hours, None, kept_bytes(cfg), memory.budget, memory.peak
    )


def kept_bytes(cfg: Config) -> float:
    """Disk the weights a training keeps take: the final model at its training precision (2 bytes a
    parameter, 4 in fp32), or a LoRA adapter in fp32 (plan/memory.py's `adapter_parameters`, from the
    model's shape and target modules); nothing for keep=none or the base model."""
    keep = kept_weights(cfg)
    n = cfg.model.num_parameters
    if role_of(cfg) == "base" or keep == "none":
        return 0.0
    if keep == "adapter":
        return adapter_parameters(cfg) * 4
    return n * (4 if cfg.training.precision == "fp32" else 2)


@dataclass
class PlanCost:
    hardware: Hardware
    # run id -> figures
    runs: dict[str, RunCost]

    def totals(self) -> dict[str, Any]:
        """Sums over the plan, each training counted once however many runs evaluate it; `measured`
        of `trained` runs had their tokens from the store."""
        costs = list(self.runs.values())
        trainings = list({rid.partition("-")[0]: c for rid, c in self.runs.items()}.values())
        trained = [c for c in costs if c.epochs > 0]
        return {
            "tokens": sum(c.tokens for c in trainings),
            "disk_bytes": sum(c.disk_bytes for c in trainings),
            "train_flops": sum(c.train_flops for c in trainings),
            "eval_flops": sum(c.eval_flops for c in costs),
            "gpu_hours": self.hardware.gpu_hours(
                sum(c.train_flops for c in trainings) + sum(c.eval_flops for c in costs)
            ),
            "trained": len(trained),
            "measured": sum(c.tokens_source == "cache" for c in trained),
            "errors": [c.error for c in costs if c.error],
        }


def plan_cost(plan: Plan, hw: Hardware, stats: StoreStats | None = None) -> PlanCost:
    """The figures of every run of a plan, from what this store has measured (or `stats`)."""
    stats = StoreStats.load() if stats is None else stats
    return PlanCost(hw, {run.id: run_cost(run.config, run.id, stats, hw) for run in plan.runs})
