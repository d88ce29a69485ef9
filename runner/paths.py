"""Where mixft keeps its store, folder by folder: the one owner of every path under $MIXFT_HOME.

run: MIXFT_HOME=/scratch/$USER/mixft mixft plan smoke --format json    (see each run's run_dir)

    runs/<training>/                 one training: its weights, checkpoints, data manifest, train.log
    runs/<training>/evals/<eval>/    one evaluation of it: metrics, predictions (a run's folder)
    sweeps/<name>.json  which runs a sweep holds (store/sweeps.py)
    migrated/           leftovers `mixft store migrate` set aside (store/migrate.py)
    cache/tokens/       tokenised sources shared by every run (data/cache.py)
    models/             models mixft builds itself (the tiny model and its tokenizer)
    compare/<sweep>/    `mixft compare` plots, W&B comparison runs and downloaded files
    slurm/<sweep>/      submitit's logs of SLURM job arrays
    searches/<name>/    `mixft search` rounds, proposal and Olmix-style ratios.csv / metrics.csv
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

DEFAULT_HOME = Path("~/.mixft")


def store_root() -> Path:
    """The store: $MIXFT_HOME when set, else ~/.mixft (point it at fast shared disk on clusters)."""
    return _home(os.environ.get("MIXFT_HOME"))


@functools.lru_cache(maxsize=64)  # a 10,000-run plan asks 10,000 times; MIXFT_HOME may change (tests)
def _home(home: str | None) -> Path:
    return Path(home).expanduser() if home else DEFAULT_HOME.expanduser()


def runs_root() -> Path:
    """Folder of every run directory."""
    return store_root() / "runs"


def training_dir(run_id: str) -> Path:
    """Directory of a training (a run id `<training>-<eval>` names its training's too)."""
    return runs_root() / run_id.partition("-")[0]


def run_dir(run_id: str) -> Path:
    """Directory of one run, an evaluation of a training: runs/<training>/evals/<eval>/.

    Shared by every sweep that plans the same run. A bare training id (a store of mixft 0.1, before
    trainings and evaluations had ids of their own) is its training directory.
    """
    trained, _, evaluation = run_id.partition("-")
    return runs_root() / trained / "evals" / evaluation if evaluation else runs_root() / trained


def migrated_root() -> Path:
    """Folder of what `mixft store migrate` could not place: leftovers of duplicate old runs."""
    return store_root() / "migrated"


def sweeps_root() -> Path:
    """Folder of the sweep index: one record per sweep that has run."""
    return store_root() / "sweeps"


def token_cache_root() -> Path:
    """Folder of the token cache."""
    return store_root() / "cache" / "tokens"


def models_root() -> Path:
    """Folder of the models mixft builds itself."""
    return store_root() / "models"


def compare_dir(sweep: str) -> Path:
    """Folder of one sweep's comparison outputs."""
    return store_root() / "compare" / sweep


def slurm_dir(sweep: str) -> Path:
    """Folder of one sweep's submitit logs."""
    return store_root() / "slurm" / sweep


def search_dir(name: str) -> Path:
    """Folder of one search's outputs: search.json, ratios.csv, metrics.csv."""
    return store_root() / "searches" / name
