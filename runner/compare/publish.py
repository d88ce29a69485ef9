"""`mixft compare --wandb`: log the comparison table and heatmap to a W&B run in the sweep's group.

run: mixft compare smoke --wandb    (offline without credentials; upload later with `mixft sync --all`)

The comparison run lives in $MIXFT_HOME/compare/<sweep>/wandb, with job type "compare", so the W&B
workspace shows it beside the sweep's runs. Like run tracking, a W&B failure is one warning and
never costs the local output.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mixft.runner.tracking.wandb_init import SETTINGS, init_run, resolve_mode

log = logging.getLogger(__name__)


def _table(rows: list[dict[str, Any]]) -> Any:
    import wandb

    columns = list(rows[0]) if rows else ["model", "task", "mixture", "delta"]
    data = [
        ["+".join(v) if isinstance(v, list) else v for v in (row.get(c) for c in columns)] for row in rows
    ]
    return wandb.Table(columns=columns, data=data)


def publish(
    sweep: str,
    tracker: dict[str, Any],
    tables: dict[str, list[dict[str, Any]]],
    image: Path | None,
    folder: Path,
    config: dict[str, Any],
) -> str | None:
    """Log tables (name -> rows) and an image to a new comparison run.

    Args:
        sweep: The sweep compared: the run's W&B group.
        tracker: The sweep's tracker settings (project, entity, mode).
        tables: Rows to log, one wandb.Table each (under compare/<name>).
        image: A heatmap PNG, or None.
        folder: Where the run's W&B files go.
        config: The compare settings (metric, confidence, view).

    Returns:
        The run's URL online, its folder offline, None when W&B is disabled or failed (warned).
    """
    import wandb

    folder.mkdir(parents=True, exist_ok=True)
    try:
        mode = resolve_mode(tracker.get("mode", "auto"), folder / "wandb", "--all")
        if mode == "disabled":
            return None
        kwargs = {
            "project": tracker.get("project", "mixft"),
            "entity": tracker.get("entity"),
            "group": sweep,
            "job_type": "compare",
            "name": f"compare · {sweep}",
            "dir": str(folder),
            "config": {"sweep": sweep, **config},
            "settings": wandb.Settings(**SETTINGS),
        }
        run = init_run(mode, kwargs, folder / "wandb", "--all")
        payload: dict[str, Any] = {f"compare/{name}": _table(rows) for name, rows in tables.items()}
        if image is not None:
            payload["compare/heatmap"] = wandb.Image(str(image))
        run.log(payload)
        where = run.url if mode == "online" else str(Path(run.dir).parent)
        run.finish()
        wandb.teardown()
        return where
    except Exception as exc:
        log.warning("W&B: logging the comparison failed (%s); the local output is unaffected", exc)
        return None
