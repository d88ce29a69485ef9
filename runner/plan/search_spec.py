"""The `search:` section of a sweep file: what `mixft search` looks for among mixtures of its sources.

run: mixft search search_smoke --budget 6    (sweeps/search_smoke.yaml)

A search file is a sweep file (`base:`, `seeds:`, `mixtures.tasks:` as the candidate sources) with a
`search:` section; `mixft plan` and `mixft sweep` refuse it, `mixft search` runs it (runner/search/).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mixft.runner.errors import ConfigError

SPACES = ("subsets", "shares", "both")
SAMPLERS = ("tpe", "random", "gp")


@dataclass
class SearchConstraints:
    # a source in a mix has at least this share (shares below it drop the source: space both)
    min_share: float = 0.0
    # and at most this one
    max_share: float = 1.0
    # sources in every candidate
    always: list[str] = field(default_factory=list)


@dataclass
class SearchSettings:
    # tasks the objective reads; empty: every candidate source
    targets: list[str] = field(default_factory=list)
    # mean_delta: the mean over targets of (score - the target's single-task baseline score);
    # or a target's name: its delta alone
    objective: str = "mean_delta"
    # compare's metric request (classification: accuracy or macro_f1; numeric_qa: its accuracy)
    metric: str = "accuracy"
    # subsets (equal shares) | shares (every source, Dirichlet shares) | both (shares under min_share drop out)
    space: str = "subsets"
    # Dirichlet concentration per source (default 1: flat); larger favours the source
    prior: dict[str, float] = field(default_factory=dict)
    constraints: SearchConstraints = field(default_factory=SearchConstraints)
    # candidate trainings, baselines and the confirmation run not counted
    budget: int = 8
    # candidates per round
    batch: int = 2
    # Optuna sampler proposing candidates: tpe | random | gp
    sampler: str = "tpe"
    # its seed: the same seed proposes the same candidates, so a re-run replays the search
    sampler_seed: int = 0
    # shares are rounded to multiples of this (candidates one step apart are one run)
    share_step: float = 0.05
    # successive halving (`--halving`): each round's candidates first train for `rung_fraction` of
    # their steps, scored on `rung_eval_examples` rows a target; the best `rung_keep` of them train in full
    halving: bool = False
    rung_fraction: float = 0.25
    rung_keep: float = 0.5
    rung_eval_examples: int = 32


def check_search(search: SearchSettings, sources: list[str]) -> None:
    """The section's values against the sweep's candidate sources.

    Raises:
        ConfigError: the first value no search could use, in one line.
    """
    if len(sources) < 2:
        raise ConfigError("a search needs at least two candidate sources in mixtures.tasks")
    for name, values in (("targets", search.targets), ("constraints.always", search.constraints.always)):
        strays = sorted(set(values) - set(sources))
        if strays:
            raise ConfigError(f"search.{name}: {strays} not among the candidate sources {sources}")
    for name in search.prior:
        if name not in sources:
            raise ConfigError(f"search.prior: '{name}' is not a candidate source {sources}")
    if search.objective != "mean_delta" and search.objective not in (search.targets or sources):
        raise ConfigError(f"search.objective: mean_delta or a target task, got '{search.objective}'")
    if search.space not in SPACES:
        raise ConfigError(f"search.space: one of {', '.join(SPACES)}, got '{search.space}'")
    if search.sampler not in SAMPLERS:
        raise ConfigError(f"search.sampler: one of {', '.join(SAMPLERS)}, got '{search.sampler}'")
    c = search.constraints
    if not 0 <= c.min_share < c.max_share <= 1:
        raise ConfigError(
            f"search.constraints: need 0 <= min_share < max_share <= 1, got {c.min_share}, {c.max_share}"
        )
    if search.budget < 1 or search.batch < 1:
        raise ConfigError(
            f"search.budget and search.batch must be at least 1, got {search.budget}, {search.batch}"
        )
    if not (0 < search.rung_fraction < 1 and 0 < search.rung_keep < 1 and search.rung_eval_examples >= 1):
        raise ConfigError(
            "search.rung_fraction and search.rung_keep must be in (0, 1), rung_eval_examples >= 1"
        )
    if not 0 < search.share_step <= 0.5 or any(v <= 0 for v in search.prior.values()):
        raise ConfigError("search.share_step must be in (0, 0.5] and search.prior values positive")
