"""What a search leaves in the store: search.json (rounds, predictions, confirmation), and Olmix's
ratios.csv and metrics.csv, so its regression and proposer code can fit the same runs.

run: mixft search search_smoke    (then: ls $MIXFT_HOME/searches/search_smoke/)

ratios.csv: `run`, `name`, then one column per candidate source with its share (rows sum to 1); the
baselines are rows too (one source at share 1), as every run the surrogate fits.
metrics.csv: `run`, `name`, the score on each target, and `objective`. Olmix's own metrics are
losses (lower is better); these are scores and deltas (higher is better).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from mixft.runner.paths import search_dir
from mixft.runner.plan.candidates import Mixture
from mixft.runner.search.state import Observation, SearchState
from mixft.runner.store.atomic import write_text


def summary(state: SearchState) -> dict[str, Any]:
    """The search as JSON: settings, baselines, every candidate, the predictions, the confirmation."""
    return {
        "name": state.name,
        "settings": {
            "space": state.settings.space,
            "objective": state.settings.objective,
            "metric": state.settings.metric,
            "budget": state.settings.budget,
            "batch": state.settings.batch,
            "sampler": state.settings.sampler,
            "sampler_seed": state.settings.sampler_seed,
            "halving": state.settings.halving,
        },
        "sources": state.sources,
        "targets": state.targets,
        "seed": state.seed,
        "baselines": state.baselines,
        "candidates": [
            {
                "round": o.round,
                "run_id": o.run_id,
                "mixture": o.mixture.label(),
                "objective": o.value,
                "scores": o.scores,
            }
            for o in state.observations
        ],
        "predictions": [p.row() for p in state.predictions],
        "rungs": [r.row() for r in state.rungs],
        "confirmation": state.confirmation.row() if state.confirmation else None,
        "stopped": state.stopped,
    }


def write_outputs(state: SearchState) -> Path:
    """Write search.json, ratios.csv and metrics.csv (each atomically: a kill leaves the old file or the
    new one); returns their folder."""
    folder = search_dir(state.name)
    write_text(folder / "search.json", json.dumps(summary(state), indent=1) + "\n")
    # the baselines are runs of the swarm too: single sources at share 1
    baselines = [
        Observation(Mixture((t,)), state.baseline_runs[t], 0, value, state.baseline_scores[t])
        for t, value in state.baseline_values().items()
    ]
    rows = [*baselines, *(o for o in state.observations if o.value is not None)]
    ratios = [[o.run_id, o.mixture.label(), *(o.mixture.share_of(s) for s in state.sources)] for o in rows]
    write_text(folder / "ratios.csv", _csv(["run", "name", *state.sources], ratios))
    metrics = [[o.run_id, o.mixture.label(), *(o.scores[t] for t in state.targets), o.value] for o in rows]
    write_text(folder / "metrics.csv", _csv(["run", "name", *state.targets, "objective"], metrics))
    return folder


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
