"""A search's objective for one run, from what the store holds: its scores against the baselines'.

run: mixft search search_smoke    (objective mean_delta: the mean over targets of score - baseline)

A candidate is scored on every target (a search sets eval.tasks to them). Its delta on a target is
its score minus the score of that target's single-task baseline at the same seed, in the metric
compare reports for the target (`search.metric`, as `mixft compare --metric`).
"""

from __future__ import annotations

import statistics

from mixft.runner.compare.measure import metric_for
from mixft.runner.compare.results import from_store
from mixft.runner.plan.search_spec import SearchSettings


def target_scores(rid: str, targets: list[str], metric: str) -> dict[str, float] | None:
    """A done run's score on each target; None when it is not done or lacks one."""
    run = from_store(rid)
    if run is None or run.state != "done":
        return None
    out = {}
    for task in targets:
        info = run.scored.get(task)
        value = run.metrics.get(f"eval/{task}/{metric_for(metric, info)}") if info else None
        if value is None:
            return None
        out[task] = float(value)
    return out


def examples(rid: str, targets: list[str]) -> dict[str, int]:
    """Rows each target was scored on (its predictions), for the objective's sampling variance."""
    run = from_store(rid)
    out = {}
    for task in targets:
        rows = run.predictions(task) if run is not None else None
        if rows:
            out[task] = len(rows)
    return out


def objective_variance(
    scores: dict[str, float],
    counts: dict[str, int],
    baselines: dict[str, float],
    baseline_counts: dict[str, int],
    settings: SearchSettings,
) -> float:
    """The objective's sampling variance from the eval rows: each score as a proportion over its rows
    (p(1 - p) / n, the binomial approximation), the run's and the baseline's independent."""

    def term(task: str) -> float:
        own, base = scores[task], baselines[task]
        n, m = max(counts.get(task, 1), 1), max(baseline_counts.get(task, 1), 1)
        return own * (1 - own) / n + base * (1 - base) / m

    if settings.objective != "mean_delta":
        return term(settings.objective)
    return sum(term(t) for t in scores) / len(scores) ** 2


def objective(scores: dict[str, float], baselines: dict[str, float], settings: SearchSettings) -> float:
    """mean_delta over the targets, or the named target's delta."""
    if settings.objective != "mean_delta":
        task = settings.objective
        return scores[task] - baselines[task]
    return statistics.fmean(scores[t] - baselines[t] for t in scores)
