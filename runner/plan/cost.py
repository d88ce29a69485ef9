"""What a plan costs: training tokens, FLOPs and GPU-hours, per run and per sweep.

run: mixft plan cocktail_paper --gpu H100 --mfu 0.4    |    mixft plan smoke --format json

Model FLOPs, as in MFU (PaLM, Chowdhery et al. 2022, app. B): N parameters cost ~2N FLOPs per token
forward and 4N backward (2N activation gradients + 2N weight gradients), so full fine-tuning is
6 x N x tokens. LoRA freezes the base: the backward pass still carries activation gradients through
it (2N) but computes no weight gradients for it, so LoRA and QLoRA are ~4 x N x tokens (adapter FLOPs,
< 1% at r=8, left out). Recomputation under gradient checkpointing (+2N), attention's context term
(~10% at 4k tokens for 7B models) and dequantisation are not counted: they lower the utilisation.
Evaluation (greedy generation) is ~2N per token, over each prompt (taken as long as a training row)
and max_new_tokens per example in full (an upper bound: answers stop early). Decoding is memory-bound,
so eval GPU-hours at a training MFU are the rougher figure.

Training tokens = rows x tokens per row x epochs (training.epochs_by_sources). "cache": measured, from
the run's own manifest.json (exact), or tokens per row and split sizes per model and source from any
manifest in the store and the `record_stats` files in cache/tokens/stats/. "estimate": rows from the
caps and pool ratios, tokens per row from TYPICAL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixft.runner.config.run import canonical_json, eval_tasks, role_of
from mixft.runner.config.schema import Config, TaskConfig
from mixft.runner.data.mixture import allocate, pool_names
from mixft.runner.errors import ConfigError, unknown
from mixft.runner.store.atomic import write_json
from mixft.runner.store.rundir import read_json
from mixft.runner.train.trl_adapter import epochs_and_warmup

if TYPE_CHECKING:
    from mixft.runner.plan.grid import Plan

# Peak dense tensor-core TFLOP/s (no sparsity) in bf16, fp16 where the GPU has no bf16 (V100, T4),
# from the vendors' datasheets; SXM boards unless the name says otherwise.
GPU_PEAK_TFLOPS: dict[str, float] = {
    "B200": 2250.0,
    "H200": 989.4,
    "H100": 989.4,
    "H100-PCIE": 756.0,
    "A100": 312.0,
    "L40S": 362.1,
    "L40": 181.0,
    "L4": 121.0,
    "A40": 149.7,
    "A10": 125.0,
    # AWS g5: no NVIDIA datasheet; the figure usually quoted (half the A10's rate with fp32 accumulate)
    "A10G": 70.0,
    "A6000": 154.8,
    "RTX4090": 165.2,
    "V100": 125.0,
    "T4": 65.0,
    "MI300X": 1307.4,
    "MI250X": 383.0,
}
STATS_DIR = Path("cache") / "tokens" / "stats"
FLOPS_FULL, FLOPS_LORA, FLOPS_INFER = 6, 4, 2  # per parameter per token; see the module docstring
UNKNOWN_ROWS = 10_000  # an uncapped task whose size nothing measured (as the sweep's ordering assumes)
AS_ASKED = 10**12  # "as many rows as asked for": a capped or pool-sized source of unmeasured size


@dataclass(frozen=True)
class Typical:
    """Rough figures for a task until a run measures them."""

    # tokens of one chat-formatted row (prompt and answer) with a 7B-class tokenizer
    tokens_per_row: int
    # rows of its eval split
    eval_rows: int


# Rough: from the sources' published split sizes and a look at their rows; replaced by measured
# figures ("cache") as soon as any run has built the task's data with the same model.
TYPICAL: dict[str, Typical] = {
    "headline": Typical(80, 20_547),
    "fpb": Typical(70, 970),
    "fin_ner_cls": Typical(100, 3_500),
    "convfinqa": Typical(1_000, 1_490),
    "finqa": Typical(1_100, 1_147),
    "twitter_topics": Typical(70, 4_117),
    "twitter_sa": Typical(65, 2_388),
    "fiqa_sa": Typical(110, 235),
    "open_orca": Typical(450, 0),
    "orca_math": Typical(330, 0),
}
BY_KIND: dict[str, Typical] = {
    "classification": Typical(100, 1_000),
    "numeric_qa": Typical(1_000, 1_000),
    "generation": Typical(400, 1_000),
}


@dataclass(frozen=True)
class Hardware:
    """The GPU the GPU-hours assume, and the share of its peak a run achieves (MFU)."""

    gpu: str
    peak_tflops: float
    mfu: float

    def gpu_hours(self, flops: float) -> float:
        """Hours on one GPU: flops / (peak x mfu) / 3600."""
        return flops / (self.peak_tflops * 1e12 * self.mfu) / 3600


def hardware(gpu: str = "H100", mfu: float = 0.4, peak_tflops: float | None = None) -> Hardware:
    """The hardware assumption, checked.

    Args:
        gpu: A name in GPU_PEAK_TFLOPS (any case); any label when `peak_tflops` is given.
        mfu: Model FLOPs utilisation, in (0, 1]; 0.3-0.5 is typical for fine-tuning 7B models.
        peak_tflops: Peak dense TFLOP/s, for a GPU that is not in the table.

    Raises:
        ConfigError: An unknown GPU name (with the nearest one), or an MFU or peak out of range.
    """
    if not 0 < mfu <= 1:
        raise ConfigError(f"--mfu must be a fraction in (0, 1], got {mfu:g}")
    if peak_tflops is not None:
        if peak_tflops <= 0:
            raise ConfigError(f"--peak-tflops must be positive, got {peak_tflops:g}")
        return Hardware(gpu, peak_tflops, mfu)
    name = gpu.strip().upper()
    if name not in GPU_PEAK_TFLOPS:
        raise ConfigError(f"{unknown('GPU', name, GPU_PEAK_TFLOPS)}; or give its peak with --peak-tflops")
    return Hardware(name, GPU_PEAK_TFLOPS[name], mfu)


def train_flops(num_parameters: int, tokens: float, method: str) -> float:
    """Training FLOPs: 6 x N x tokens for full fine-tuning, 4 x N x tokens for LoRA and QLoRA."""
    return (FLOPS_FULL if method == "full" else FLOPS_LORA) * num_parameters * tokens


def eval_flops(num_parameters: int, tokens: float) -> float:
    """Generation FLOPs: 2 x N per token, prompt and new tokens alike."""
    return FLOPS_INFER * num_parameters * tokens


@dataclass
class SourceStat:
    """Measured figures of one source, summed over every manifest that has it."""

    tokens: int = 0
    rows: int = 0
    available: int = 0


StatKey = tuple[str, str, bool, int]  # model, source, samples (synthetic suite), max_length


@dataclass
class StoreStats:
    """What the store has measured: exact tokens per run, and tokens per row per model and source."""

    # run id -> (tokens, rows) of one epoch, from its manifest.json
    runs: dict[str, tuple[int, int]] = field(default_factory=dict)
    sources: dict[StatKey, SourceStat] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> StoreStats:
        """Read runs/*/manifest.json (run.json names the model) and cache/tokens/stats/*.json."""
        stats = cls()
        for path in sorted(root.glob("runs/*/manifest.json")):
            meta = read_json(path.parent / "run.json")
            epoch = stats.add(meta.get("model") if isinstance(meta, dict) else None, read_json(path))
            if epoch is not None:
                stats.runs[path.parent.name] = epoch
        for path in sorted((root / STATS_DIR).glob("*.json")):
            record = read_json(path)
            if isinstance(record, dict):
                stats.add(record.get("model"), record.get("manifest"))
        return stats

    def add(self, model: Any, manifest: Any) -> tuple[int, int] | None:
        """Take in one manifest of `model`: its epoch's (tokens, rows); None for no manifest (torn, old)."""
        if not isinstance(model, str):
            return None
        try:
            length = int(manifest["max_length"])
            for name, src in manifest["sources"].items():
                key = (model, name, str(src["origin"]).startswith("samples:"), length)
                stat = self.sources.setdefault(key, SourceStat())
                stat.tokens += int(src["tokens"])
                stat.rows += int(src["realised_rows"])
                stat.available = max(stat.available, int(src["available_rows"]))
            return int(manifest["total_tokens"]), int(manifest["total_rows"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def source(self, cfg: Config, name: str) -> SourceStat | None:
        """Measured figures of a run's source, when some run with the same model has built it."""
        stat = self.sources.get((cfg.model.name, name, cfg.data.samples, cfg.training.max_length))
        return stat if stat is not None and stat.rows > 0 else None


def record_stats(root: Path, model: str, manifest: dict[str, Any]) -> Path:
    """Keep a built mix's figures for later cost estimates (cache/tokens/stats/<model>-<hash>.json).

    For callers that build data without a run directory (`mixft data stats`); run directories'
    manifests are read anyway.
    """
    digest = hashlib.sha256(canonical_json([model, manifest]).encode()).hexdigest()[:16]
    path = root / STATS_DIR / f"{model}-{digest}.json"
    write_json(path, {"model": model, "manifest": manifest})
    return path


def typical(task: TaskConfig) -> Typical:
    """The task's rough figures: its own entry in TYPICAL, else its kind's."""
    return TYPICAL.get(task.name) or BY_KIND.get(task.kind, BY_KIND["generation"])


def _tokens_per_row(cfg: Config, name: str, stats: StoreStats) -> tuple[float, bool]:
    stat = stats.source(cfg, name)
    if stat is not None:
        return stat.tokens / stat.rows, True
    return float(min(typical(cfg.task[name]).tokens_per_row, cfg.training.max_length)), False


def _available(cfg: Config, name: str, stats: StoreStats) -> int:
    stat = stats.source(cfg, name)
    task = cfg.task[name]
    if cfg.data.samples:
        return cfg.data.sample_train_rows
    if stat is not None and stat.available:
        return stat.available
    return AS_ASKED if task.max_examples or task.pool_ratio or name in cfg.mixture.caps else UNKNOWN_ROWS


def epoch_tokens(cfg: Config, run_id: str, stats: StoreStats) -> tuple[float, int, bool]:
    """Tokens and rows of one epoch of a run's mix, and whether every figure was measured.

    Raises:
        ConfigError: The mix cannot be built (see `mixture.allocate`).
    """
    if run_id in stats.runs:
        tokens, rows = stats.runs[run_id]
        return float(tokens), rows, True
    names = set(cfg.mixture.tasks) | set(cfg.regularizer.sources) | set(cfg.mixture.pool)
    allocations = allocate(cfg, {name: _available(cfg, name, stats) for name in names})
    # regulariser rows follow the pool's split sizes: measured too, unless the sample suite fixes them
    tokens, measured = 0.0, cfg.data.samples or all(stats.source(cfg, n) for n in pool_names(cfg))
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
    epochs, _ = epochs_and_warmup(t, len(cfg.mixture.tasks) + len(cfg.regularizer.sources))
    per_epoch, rows, measured = epoch_tokens(cfg, run_id, stats)
    tokens = per_epoch * epochs
    if t.max_steps > 0:  # one device: each step reads batch x accumulation sequences
        sequence = t.max_length if t.packing else per_epoch / max(rows, 1)
        tokens = min(
            tokens, t.max_steps * t.per_device_train_batch_size * t.gradient_accumulation_steps * sequence
        )
    return tokens, epochs, measured


def generated_tokens(cfg: Config, stats: StoreStats) -> float:
    """Tokens evaluation runs through the model: prompts plus max_new_tokens, over every eval task."""
    total = 0.0
    for name in eval_tasks(cfg):
        task = cfg.task[name]
        rows = cfg.data.sample_eval_rows if cfg.data.samples else typical(task).eval_rows
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

    def row(self) -> dict[str, Any]:
        """The figures as `mixft plan --format json` keys."""
        return {
            "tokens": self.tokens,
            "tokens_source": self.tokens_source,
            "epochs": self.epochs,
            "train_flops": self.train_flops,
            "eval_flops": self.eval_flops,
            "gpu_hours": float(f"{self.gpu_hours:.4g}"),  # 4 significant digits
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
    return RunCost(round(tokens), source, epochs, train, evals, hw.gpu_hours(train + evals))


@dataclass
class PlanCost:
    hardware: Hardware
    # run id -> figures
    runs: dict[str, RunCost]

    def totals(self) -> dict[str, Any]:
        """Sums over the plan; `measured` of `trained` runs had their tokens from the store."""
        costs = list(self.runs.values())
        trained = [c for c in costs if c.epochs > 0]
        return {
            "tokens": sum(c.tokens for c in costs),
            "train_flops": sum(c.train_flops for c in costs),
            "eval_flops": sum(c.eval_flops for c in costs),
            "gpu_hours": sum(c.gpu_hours for c in costs),
            "trained": len(trained),
            "measured": sum(c.tokens_source == "cache" for c in trained),
            "errors": [c.error for c in costs if c.error],
        }


def plan_cost(plan: Plan, hw: Hardware, root: Path) -> PlanCost:
    """The figures of every run of a plan, reading what the store at `root` has measured."""
    stats = StoreStats.load(root)
    return PlanCost(hw, {run.id: run_cost(run.config, run.id, stats, hw) for run in plan.runs})
