"""`mixft compare --publish`: log the comparison table and heatmap to a side run beside the sweep's runs.

run: mixft compare smoke --publish    (the sweep's tracker; `--wandb` publishes to W&B whatever it ran with)

W&B: a run of job type "compare" in the sweep's group, its files in $MIXFT_HOME/compare/<sweep>/wandb
(offline without credentials; `mixft sync --all` uploads it). MLflow: a run tagged mixft.kind=compare
in the sweep's experiment. Like run tracking, a failure is one warning and never costs the local output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mixft.runner.errors import ConfigError
from mixft.runner.tracking.base import Tracker


def publish(
    sweep: str,
    tracker: Tracker,
    tables: dict[str, list[dict[str, Any]]],
    image: Path | None,
    folder: Path,
    config: dict[str, Any],
) -> str | None:
    """Log tables (name -> rows) and an image to a new comparison run.

    Args:
        sweep: The sweep compared: the run's group (W&B) or experiment (MLflow).
        tracker: Where to publish (the sweep's tracker, with its settings).
        tables: Rows to log, one table each (under compare/<name>).
        image: A heatmap PNG, or None.
        folder: Where the run's local files go.
        config: The compare settings (metric, confidence, view).

    Returns:
        Where the run is (URL, folder), None when the tracker is disabled or failed (warned).

    Raises:
        ConfigError: the tracker is `none`: there is nothing to publish to.
    """
    if tracker.name == "none":
        raise ConfigError(
            f"sweep '{sweep}' ran with tracker=none: nothing to publish to; pass --wandb, or run the "
            "sweep with tracker=wandb or tracker=mlflow"
        )
    run = tracker.side_run("compare", sweep, folder, {"sweep": sweep, **config})
    if run is None:
        return None
    for name, rows in tables.items():
        run.log_table(f"compare/{name}", rows)
    if image is not None:
        run.log_image("compare/heatmap", image)
    return run.finish()
