"""Disk the runs of a sweep still to do will take in the store: weights, checkpoints, token cache.

run: mixft sweep smoke --dry-run    (the disk line; `mixft sweep` refuses, exit 2, when the store's
file system has less free, unless --force)

Per training still to train (plan/work.py: "train"):
- kept weights: plan/cost.py's `kept_bytes` (the final model at its precision, or the adapter);
- checkpoints: the trainable weights plus AdamW's two fp32 moments (8 bytes per trainable
  parameter), twice (the trainer keeps the newest 2: save_total_limit in train/trl_adapter.py),
  none when training.save_steps is null; a training with save_final_only or keep=none deletes
  them once done, so they are left out of the total, which counts instead the largest checkpoints
  of any training (its 2, and a third being written before the oldest goes) as in flight;
- token cache: input_ids and labels as int64 (16 bytes a token) for one epoch of its mix
  (plan/cost.py's `epoch_tokens`): an upper bound, as trainings that read the same rows share entries.
Evaluations write predictions and metrics (kilobytes): not counted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError
from mixft.runner.plan.cost import epoch_tokens, kept_bytes
from mixft.runner.plan.grid import PlannedRun
from mixft.runner.plan.work import work_of
from mixft.runner.store.measured import StoreStats

OPTIMIZER_BYTES = 8  # AdamW: two fp32 moments per trainable parameter
KEPT_CHECKPOINTS = 2  # save_total_limit (train/trl_adapter.py)
CACHE_BYTES_PER_TOKEN = 16  # input_ids and labels, int64 each (data/cache.py)


@dataclass(frozen=True)
class DiskNeed:
    """Bytes the runs to do add to the store, by kind."""

    weights: float = 0.0
    checkpoints: float = 0.0
    cache: float = 0.0

    @property
    def total(self) -> float:
        """All of it, in bytes."""
        return self.weights + self.checkpoints + self.cache

    def parts(self) -> str:
        """ "weights 1.2 GB, checkpoints 4.0 GB, token cache 3 MB"."""
        named = {"weights": self.weights, "checkpoints": self.checkpoints, "token cache": self.cache}
        return ", ".join(f"{name} {size_text(size)}" for name, size in named.items())


def size_text(size: float) -> str:
    """Bytes as a person reads them: 512 kB, 12.3 MB, 4.1 GB, 2.0 TB."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 1e3:.0f} kB"


def checkpoint_bytes(cfg: Config) -> float:
    """One checkpoint of a training: its trainable weights and their optimizer state."""
    if cfg.training.save_steps is None:
        return 0.0
    # the weights the method trains, whatever training.keep keeps after
    trained = kept_bytes(dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, keep=None)))
    params = cfg.model.num_parameters if cfg.training.method == "full" else trained / 4  # adapters: fp32
    return trained + OPTIMIZER_BYTES * params


def disk_need(runs: list[PlannedRun], stats: StoreStats | None = None) -> DiskNeed:
    """What the trainings of `runs` still to train will write to the store (module docstring)."""
    work = work_of(runs)
    trainings = {run.training: run for run in runs if work[run.id].what == "train"}
    if not trainings:
        return DiskNeed()
    stats = StoreStats.load() if stats is None else stats
    weights = kept = flight = cache = 0.0  # flight: checkpoints on disk only while a training runs
    for run in trainings.values():
        one, training = checkpoint_bytes(run.config), run.config.training
        weights += kept_bytes(run.config)
        if training.save_final_only or training.keep == "none":  # deleted once it is done
            flight = max(flight, (KEPT_CHECKPOINTS + 1) * one)
        else:  # the newest 2 stay; a third is written before the oldest goes
            kept += KEPT_CHECKPOINTS * one
            flight = max(flight, one)
        try:
            cache += CACHE_BYTES_PER_TOKEN * epoch_tokens(run.config, run.id, stats)[0]
        except ConfigError:  # a mix that cannot be built fails its run, writing nothing
            continue
    return DiskNeed(weights, kept + flight, cache)
