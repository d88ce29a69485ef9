"""What a search knows as it runs: baselines, candidates with their objective and its variance,
predictions, the halving rungs, the confirmation, and how it ended.

run: mixft search search_smoke    (search.json in the store is this state, written by outputs.py)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mixft.runner.plan.candidates import Mixture
from mixft.runner.plan.search_spec import SearchSettings
from mixft.runner.search.confirm import Confirmation
from mixft.runner.search.halving import Rung
from mixft.runner.search.objective import objective, objective_variance
from mixft.runner.search.surrogate import Prediction


@dataclass
class Observation:
    mixture: Mixture
    run_id: str
    round: int
    value: float | None
    scores: dict[str, float] = field(default_factory=dict)
    # the value's sampling variance over the eval rows (objective.py)
    variance: float | None = None


@dataclass
class SearchState:
    """Everything a search knows: its settings, rounds, the prediction, and how it ended."""

    name: str
    settings: SearchSettings
    sources: list[str]
    targets: list[str]
    seed: int
    # target -> its baseline's score on it; and the baseline's scores on every target
    baselines: dict[str, float] = field(default_factory=dict)
    baseline_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    baseline_runs: dict[str, str] = field(default_factory=dict)
    # target -> rows its baseline was scored on
    baseline_counts: dict[str, int] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    confirmation: Confirmation | None = None
    rungs: list[Rung] = field(default_factory=list)  # successive halving, one per round
    stopped: str | None = None  # why it ended before its budget, or None
    interrupted: bool = False
    unfinished: list[tuple[str, str]] = field(default_factory=list)

    def observed(self) -> dict[Mixture, float]:
        """Objective of every mixture scored, baselines (single tasks) included."""
        out = {Mixture((t,)): v for t, v in self.baseline_values().items()}
        out |= {o.mixture: o.value for o in self.observations if o.value is not None}
        return out

    def variances(self) -> dict[Mixture, float]:
        """Sampling variance of each observed mixture's objective (the surrogate's noise)."""
        out = {
            Mixture((t,)): objective_variance(
                self.baseline_scores[t],
                self.baseline_counts,
                self.baselines,
                self.baseline_counts,
                self.settings,
            )
            for t in self.baseline_values()
        }
        out |= {o.mixture: o.variance for o in self.observations if o.variance is not None}
        return out

    def baseline_values(self) -> dict[str, float]:
        """The objective of each target's baseline as a candidate of its own (0 on its own target)."""
        if not self.baselines:
            return {}
        return {t: objective(self.baseline_scores[t], self.baselines, self.settings) for t in self.targets}
