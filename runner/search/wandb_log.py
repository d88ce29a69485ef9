"""A search's rounds in its tracker: one side run of kind "search" beside its runs (W&B: job type
"search" in the search's group, files in searches/NAME/wandb; MLflow: in the search's experiment).

run: mixft search search_smoke tracker=wandb    (offline without credentials; `mixft sync --all` uploads)

Each round is a step: the best objective seen so far, the predicted best with its interval, the
round's candidates; the end logs every candidate as a table and the confirmation's deltas. Like run
tracking, a tracker's failure is one warning and never costs the search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mixft.runner.config.trackers import tracker_config, tracker_fields
from mixft.runner.search.outputs import summary
from mixft.runner.search.state import SearchState
from mixft.runner.tracking import tracker_for


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
    """Log the search as a side run of its tracker (W&B, MLflow); where it is, else None (tracker=none,
    disabled, or failed: warned)."""
    settings = {k: v for k, v in tracker.items() if k in tracker_fields(tracker.get("name", "none"))}
    side = tracker_for(tracker_config(tracker.get("name", "none"))(**settings))
    config = summary(state)["settings"] | {"sources": state.sources, "targets": state.targets}
    run = side.side_run("search", state.name, folder, config)
    if run is None:
        return None
    for row in round_rows(state):
        run.log_step(row, step=row["search/round"])
    columns = ["round", "run_id", "mixture", "objective"]
    run.log_table(
        "search/candidates_table", [{k: c[k] for k in columns} for c in summary(state)["candidates"]]
    )
    if state.confirmation is not None and state.confirmation.objective is not None:
        run.set_summary({"search/confirmation_mean_delta": state.confirmation.objective})
    return run.finish()
