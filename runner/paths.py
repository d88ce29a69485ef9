"""Where mixft keeps its store: run directories, caches, the tiny model.

run: MIXFT_HOME=/scratch/$USER/mixft mixft plan smoke --format json    (see each run's run_dir)
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = Path("~/.mixft")


def store_root() -> Path:
    """The store: $MIXFT_HOME when set, else ~/.mixft (point it at fast shared disk on clusters)."""
    home = os.environ.get("MIXFT_HOME")
    return Path(home).expanduser() if home else DEFAULT_HOME.expanduser()


def run_dir(run_id: str) -> Path:
    """Directory of one run; shared by every sweep that plans the same run."""
    return store_root() / "runs" / run_id
