"""Successive halving for a search (`mixft search --halving`): short trainings choose which of a
round's candidates train in full.

run: mixft search search_smoke --halving

Each candidate of a round first trains for `search.rung_fraction` of its optimizer steps (plan/cost.py's
`optimizer_steps`) and is scored on `search.rung_eval_examples` rows a target; these rung runs are a
sweep of their own, `<search>.rungs`, so the search's comparison holds full runs only. The best
`rung_keep` share of the round (at least one) then trains in full; Optuna hears each candidate's
early score as an intermediate value, and the others end pruned. Early scores chose the survivors:
the output says so, and the GPU-hours saved against training every candidate in full (plan/cost.py's
estimate, on an H100 at 40% MFU) are reported with the ratio of what was spent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mixft.runner.plan.candidates import Mixture, plan_mixtures, run_of
from mixft.runner.plan.cost import optimizer_steps, run_cost
from mixft.runner.plan.grid import Plan
from mixft.runner.plan.hardware import hardware
from mixft.runner.search.objective import objective, target_scores
from mixft.runner.store.measured import StoreStats

if TYPE_CHECKING:
    from mixft.runner.search.loop import Search


@dataclass
class Rung:
    """One round's halving: early scores, who went on, and what it cost against training all in full."""

    round: int
    early: dict[Mixture, float | None] = field(default_factory=dict)
    steps: dict[Mixture, int] = field(default_factory=dict)
    survivors: list[Mixture] = field(default_factory=list)
    all_full_hours: float = 0.0
    spent_hours: float = 0.0

    def row(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "round": self.round,
            "early": [
                {"mixture": m.label(), "objective": v, "steps": self.steps[m]} for m, v in self.early.items()
            ],
            "survivors": [m.label() for m in self.survivors],
            "gpu_hours_all_full": self.all_full_hours,
            "gpu_hours_spent": self.spent_hours,
        }


def _full_plan(search: Search, mixtures: list[Mixture]) -> Plan:
    s = search.state
    return plan_mixtures(s.name, search.base, mixtures, [s.seed], None)


def _hours(plan: Plan) -> dict[str, float]:
    stats, hw = StoreStats.load(), hardware()
    return {run.id: run_cost(run.config, run.id, stats, hw).gpu_hours for run in plan.runs}


def rung(
    search: Search,
    new: list[Mixture],
    round_no: int,
    report: Callable[[str, str], None],
    tick: Callable[[], None],
) -> Rung | None:
    """Train `new` briefly, score them, and keep the best; None when the rung did not finish."""
    s = search.state
    full = _full_plan(search, new)
    stats = StoreStats.load()
    result = Rung(round_no)
    for mix in new:
        run = run_of(full, mix, s.seed)
        steps = optimizer_steps(run.config, run.id, stats)
        result.steps[mix] = max(1, math.ceil(steps * s.settings.rung_fraction))
    base = [*search.base, f"eval.max_examples={s.settings.rung_eval_examples}"]
    short = plan_mixtures(
        f"{s.name}.rungs", base, new, [s.seed], None, lambda m: [f"training.max_steps={result.steps[m]}"]
    )
    report("rung", f"{round_no}: {len(new)} candidate(s) at {s.settings.rung_fraction:g} of their steps")
    if not search.run_plan(short, report, tick):
        return None
    for mix in new:
        scores = target_scores(run_of(short, mix, s.seed).id, s.targets, s.settings.metric)
        result.early[mix] = objective(scores, s.baselines, s.settings) if scores else None
    ranked = sorted((m for m in new if result.early[m] is not None), key=lambda m: -(result.early[m] or 0.0))
    result.survivors = ranked[: max(1, math.ceil(len(new) * s.settings.rung_keep))]
    full_hours, short_hours = _hours(full), _hours(short)
    result.all_full_hours = sum(full_hours.values())
    kept = {run_of(full, m, s.seed).id for m in result.survivors}
    result.spent_hours = sum(short_hours.values()) + sum(h for rid, h in full_hours.items() if rid in kept)
    report(
        "survivors",
        f"{round_no}: " + "; ".join(m.label() for m in result.survivors) + " (chosen by early scores)",
    )
    return result


def tell_early(study: Any, trials: list[tuple[Any, Mixture]], result: Rung) -> list[tuple[Any, Mixture]]:
    """Report each trial's early score to Optuna, end the pruned ones; the survivors' trials remain."""
    import optuna

    remaining = []
    for trial, mix in trials:
        value = result.early.get(mix)
        if value is not None:
            trial.report(value, step=0)
        if mix in result.survivors:
            remaining.append((trial, mix))
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return remaining
