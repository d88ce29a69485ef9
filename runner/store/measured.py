"""What the store has measured of past runs' data: tokens per run, and tokens per row per source.

run: mixft plan cocktail_paper    (the cost columns say "cache" where these figures were used)

Read from every run directory's manifest.json (run.json names its model); `mixft plan` uses them
instead of the tasks' typical sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixft.runner.config.schema import Config
from mixft.runner.paths import runs_root
from mixft.runner.store import rundir


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
    def load(cls, runs: Path | None = None) -> StoreStats:
        """Read every run directory's manifest under `runs` (default: this store's runs/)."""
        stats = cls()
        for folder in sorted((runs or runs_root()).glob(f"*/{rundir.MANIFEST}")):
            run = folder.parent
            epoch = stats.add(rundir.read_meta(run).get("model"), rundir.read_manifest(run))
            if epoch is not None:
                stats.runs[run.name] = epoch
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
