"""A search's rounds in W&B: one run of job type "search" in the search's group, beside its runs.

run: mixft search search_smoke tracker=wandb    (offline without credentials; `mixft sync --all` uploads)

Each round is a step: the best objective seen so far, the predicted best with its interval, the
round's candidates; the end logs every candidate as a table and the confirmation's deltas. Only
with tracker=wandb; like run tracking, a W&B failure is one warning and never costs the search.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mixft.runner.search.outputs import summary
from mixft.runner.search.state import SearchState
from mixft.runner.tracking.wandb_init import SETTINGS, init_run, resolve_mode

log = logging.getLogger(__name__)


def round_rows(state: SearchState) -> list[dict[str, Any]]:
    """Per round: its candidates, the best objective seen so far, and the prediction after it."""
    rows, best = [], max(state.baseline_values().values(), default=float("-inf"))
    for number, prediction in enumerate(state.predictions, start=1):
        scored = [o.value for o in state.observations if o.round == number and o.value is not None]
        best = max([best, *scored])
        rows.append(
            {
                "search/round": number,
                "search/candidates": sum(o.round == number for o in state.observations),
                "search/best_seen": best,
                "search/predicted": prediction.mean,
                "search/predicted_low": prediction.low,
                "search/predicted_high": prediction.high,
            }
        )
    return rows


def log_search(state: SearchState, tracker: dict[str, Any], folder: Path) -> str | None:
    """Log the search to W&B when its tracker is wandb; the run's URL or folder, else None."""
    if tracker.get("name") != "wandb":
        return None
    import wandb

    try:
        mode = resolve_mode(tracker.get("mode", "auto"), folder / "wandb", "--all")
        if mode == "disabled":
            return None
        kwargs = {
            "project": tracker.get("project", "mixft"),
            "entity": tracker.get("entity"),
            "group": state.name,
            "job_type": "search",
            "name": f"search · {state.name}",
            "dir": str(folder),
            "config": summary(state)["settings"] | {"sources": state.sources, "targets": state.targets},
            "settings": wandb.Settings(**SETTINGS),
        }
        run = init_run(mode, kwargs, folder / "wandb", "--all")
        for row in round_rows(state):
            run.log(row, step=row["search/round"])
        candidates = summary(state)["candidates"]
        columns = ["round", "run_id", "mixture", "objective"]
        run.log(
            {
                "search/candidates_table": wandb.Table(
                    columns=columns, data=[[c[k] for k in columns] for c in candidates]
                )
            }
        )
        if state.confirmation is not None and state.confirmation.objective is not None:
            run.summary["search/confirmation_mean_delta"] = state.confirmation.objective
        where = run.url if mode == "online" else str(Path(run.dir).parent)
        run.finish()
        wandb.teardown()
        return where
    except Exception as exc:
        log.warning("W&B: logging the search failed (%s); its files are unaffected", exc)
        return None
