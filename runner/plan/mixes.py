"""The training mixes a name stands for: one mixture option, or every trained run of a sweep.

run: mixft data stats finance data.samples=true    |    mixft data stats smoke
"""

from __future__ import annotations

from collections.abc import Sequence

from mixft.runner.config.catalog import group_options
from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.config.schema import Config
from mixft.runner.plan.grid import expand
from mixft.runner.plan.ids import ids_of
from mixft.runner.plan.sweepfile import load_sweep


def training_configs(target: str, overrides: Sequence[str]) -> list[tuple[str, Config]]:
    """(run id, resolved config) of a mixture option's run, or of every trained run of a sweep.

    Raises:
        ConfigError: neither a mixture option nor a sweep, or a bad override.
    """
    if target in group_options("mixture"):
        cfg = resolve(load_config([f"mixture={target}", *overrides]))
        return [(ids_of(cfg).run, cfg)]
    plan = expand(load_sweep(target), overrides)
    return [(run.id, run.config) for run in plan.runs if run.role != "base"]
