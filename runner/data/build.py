"""A run's training set and its manifest: allocate rows, take them from the token cache, mix.

run: mixft data stats smoke

Each source contributes the first rows of its seeded shuffle (repeating them when upsampled); the
sources are concatenated in name order and shuffled once with the mix seed. The manifest says, per
source, what was requested and what was realised, in rows and tokens, with the source fingerprint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from mixft.runner.config.schema import Config
from mixft.runner.data.cache import permutation, tokenized_source
from mixft.runner.data.mixture import Allocation, allocate, apportion, pool_names, rows_for_tokens
from mixft.runner.data.sources import RawSplit, load_split
from mixft.runner.store.identity import canonical_json

MANIFEST_VERSION = 1


@dataclass
class TrainingSet:
    # input_ids, labels, source: shuffled, ready for the trainer
    rows: Any
    manifest: dict[str, Any]
    # sources whose tokens came from the cache
    cache_hits: int


def mix_seed(cfg: Config) -> int:
    """Seed of every shuffle of the mix: mixture.seed, else the run's seed."""
    return cfg.mixture.seed if cfg.mixture.seed is not None else cfg.seed


def load_train_splits(cfg: Config) -> dict[str, RawSplit]:
    """Train splits of every training source and of the pool's tasks (their sizes size regularisers)."""
    names = set(cfg.mixture.tasks) | set(cfg.regularizer.sources) | set(cfg.mixture.pool)
    return {name: load_split(cfg.task[name], "train", cfg.data) for name in sorted(names)}


def _indices(rows: int, have: int) -> list[int]:
    """The first `rows` rows of a source with `have` rows, cycling through it when upsampled."""
    return [i % have for i in range(rows)] if have else []


def column(rows: Any, name: str) -> list[Any]:
    """One column as a list, read through Arrow (row-by-row access is ~100x slower)."""
    return rows.with_format("arrow")[name].to_pylist()


def _row_counts(allocations: list[Allocation], token_counts: dict[str, list[int]]) -> dict[str, int]:
    """Realised rows: the allocation, less the rows dropped as too long (proportionally when repeated)."""
    counts = {}
    for a in allocations:
        kept = len(token_counts[a.source])
        counts[a.source] = min(a.rows, kept) if a.rows <= a.available else a.rows * kept // a.available
    return counts


def _token_targets(
    cfg: Config, allocations: list[Allocation], token_counts: dict[str, list[int]]
) -> dict[str, int] | None:
    """Tokens per source under a token budget (each source's natural share of the total); else None."""
    if cfg.mixture.budget.unit != "tokens" or cfg.mixture.budget.total is None:
        return None
    natural = {a.source: sum(token_counts[a.source][: a.rows]) for a in allocations}
    return dict(
        zip(natural, apportion([float(v) for v in natural.values()], cfg.mixture.budget.total), strict=True)
    )


def _tokenized(cfg: Config, raws: dict[str, RawSplit], allocations: list[Allocation], tokenizer: Any) -> dict:
    """The cached (or newly tokenised) rows every allocation draws from."""
    return {
        a.source: tokenized_source(
            raws[a.source],
            cfg.task[a.source],
            tokenizer,
            cfg.training.max_length,
            mix_seed(cfg),
            min(a.rows, a.available),
        )
        for a in allocations
    }


def _mix(cached: dict, rows: dict[str, int], seed: int) -> Any:
    """Each source's first rows (cycling when upsampled), concatenated in name order, shuffled once."""
    from datasets import concatenate_datasets

    parts = []
    for name, source in cached.items():
        # explicit fingerprints: datasets would otherwise hash every index list through dill
        tag = f"{source.key[:24]}-{rows[name]}"
        picked = source.rows.select(_indices(rows[name], len(source.rows)), new_fingerprint=tag)
        parts.append(picked.add_column("source", [name] * len(picked), new_fingerprint=f"{tag}-src"))
    mixed = concatenate_datasets(parts)
    tag = hashlib.sha256(canonical_json([p._fingerprint for p in parts] + [seed]).encode()).hexdigest()
    return mixed.select([int(i) for i in permutation(len(mixed), seed)], new_fingerprint=tag)


def build_training_set(cfg: Config, tokenizer: Any) -> TrainingSet:
    """Tokenise (or read from the cache) and mix a run's training rows.

    Args:
        cfg: A resolved run config.
        tokenizer: The run model's tokenizer, chat template included.

    Returns:
        The shuffled training rows and the manifest describing them.
    """
    raws = load_train_splits(cfg)
    allocations = allocate(cfg, {name: raw.num_rows for name, raw in raws.items()})
    cached = _tokenized(cfg, raws, allocations, tokenizer)
    counts = {name: column(c.rows, "n_tokens") for name, c in cached.items()}
    targets = _token_targets(cfg, allocations, counts)
    if targets is None:
        rows = _row_counts(allocations, counts)
    else:
        rows = {name: rows_for_tokens(counts[name], t, cfg.mixture.max_repeat) for name, t in targets.items()}
    manifest = make_manifest(cfg, raws, allocations, counts, rows, targets or {})
    return TrainingSet(_mix(cached, rows, mix_seed(cfg)), manifest, sum(c.hit for c in cached.values()))


def make_manifest(
    cfg: Config,
    raws: dict[str, RawSplit],
    allocations: list[Allocation],
    token_counts: dict[str, list[int]],
    rows: dict[str, int],
    token_targets: dict[str, int],
) -> dict[str, Any]:
    """What the mix asked for and what it got, per source, in rows and tokens."""
    total_rows = sum(rows.values())
    sources = {}
    for a in allocations:
        counts = token_counts[a.source]
        taken = _indices(rows[a.source], len(counts))
        sources[a.source] = {
            "role": a.role,
            "origin": raws[a.source].origin,
            "fingerprint": raws[a.source].fingerprint,
            "available_rows": a.available,
            "requested_rows": a.requested,
            "realised_rows": rows[a.source],
            "dropped_too_long": min(a.rows, a.available) - len(counts),
            "repeats": round(rows[a.source] / a.available, 4) if a.available else 0.0,
            "requested_tokens": token_targets.get(a.source),
            "tokens": sum(counts[i] for i in taken),
            "share_requested": a.share_requested,
            "share_realised": round(rows[a.source] / total_rows, 6) if total_rows else 0.0,
        }
    return {
        "version": MANIFEST_VERSION,
        "seed": mix_seed(cfg),
        "max_length": cfg.training.max_length,
        "budget": {"unit": cfg.mixture.budget.unit, "total": cfg.mixture.budget.total},
        "max_repeat": cfg.mixture.max_repeat,
        "pool": pool_names(cfg),
        "total_rows": total_rows,
        "total_tokens": sum(s["tokens"] for s in sources.values()),
        "sources": sources,
    }
