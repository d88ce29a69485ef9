"""The mixtures a search may propose, how Optuna's parameters become one, and the surrogate's features.

run: mixft search search_smoke    (sweeps/search_smoke.yaml: space both over three sources)

- subsets: each source in or out (`use_<source>`, categorical); a candidate trains its tasks at their
  own sizes, as a sweep's task sets do, so a subset search and a grid of subsets share runs.
- shares: every source, with shares from a Dirichlet around `search.prior` (Optuna's FAQ recipe: one
  uniform `u_<source>` each, turned into a Gamma(prior) draw by its inverse CDF, then normalised).
- both: shares, and a source whose share rounds under `constraints.min_share` (at least one step)
  drops out.
Shares are clipped to [min_share, max_share], then rounded to `share_step` (largest remainder, so they
still sum to 1): nearby proposals become the same run. `constraints.always` sources are in every mix.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from mixft.runner.data.mixture import apportion
from mixft.runner.plan.candidates import Mixture
from mixft.runner.plan.search_spec import SearchSettings

EPS = 1e-6
POOL = 4096  # share vectors the surrogate scores when looking for its best


class Space:
    """The candidate mixtures of `sources` under a search's settings."""

    def __init__(self, sources: list[str], settings: SearchSettings) -> None:
        self.sources = sorted(sources)
        self.settings = settings
        self.units = round(1 / settings.share_step)

    def propose(self, trial: Any) -> Mixture | None:
        """The mixture an Optuna trial's parameters stand for; None when it breaks a constraint."""
        s = self.settings
        if s.space == "subsets":
            chosen = [
                src
                for src in self.sources
                if src in s.constraints.always or trial.suggest_categorical(f"use_{src}", [True, False])
            ]
            return Mixture(tuple(chosen)) if chosen else None
        weights = {
            src: self._gamma(trial.suggest_float(f"u_{src}", EPS, 1 - EPS), src) for src in self.sources
        }
        return self.shares(weights)

    def _gamma(self, u: float, source: str) -> float:
        from scipy.stats import gamma

        return float(gamma.ppf(u, self.settings.prior.get(source, 1.0)))

    def shares(self, weights: dict[str, float]) -> Mixture | None:
        """Weights (any scale) as a rounded, constrained mixture; None when nothing is left."""
        c, s = self.settings.constraints, self.settings
        total = sum(weights.values()) or 1.0
        share = {src: w / total for src, w in weights.items()}
        floor = max(c.min_share, s.share_step) if s.space == "both" else 0.0
        kept = {src: v for src, v in share.items() if v >= floor or src in c.always}
        for _ in range(8):  # clip into [min, max] and renormalise until it holds
            mass = sum(kept.values()) or 1.0
            kept = {src: min(max(v / mass, c.min_share), c.max_share) for src, v in kept.items()}
        if not kept:
            return None
        names = sorted(kept)
        minimum = 1 if s.space == "shares" else 0
        units = apportion([kept[n] for n in names], self.units - minimum * len(names))
        units = [u + minimum for u in units]
        pairs = [(n, u / self.units) for n, u in zip(names, units, strict=True) if u > 0]
        if not pairs:
            return None
        if len(pairs) == 1:
            return Mixture((pairs[0][0],))
        return Mixture(tuple(n for n, _ in pairs), tuple(round(v, 6) for _, v in pairs))

    def features(self, mix: Mixture) -> list[float]:
        """The mixture as a vector of shares over every source (the surrogate's input)."""
        return [mix.share_of(src) for src in self.sources]

    def pool(self, seed: int = 0) -> list[Mixture]:
        """Mixtures the surrogate scores to find its best: every subset, or Dirichlet draws."""
        s = self.settings
        if s.space == "subsets":
            always = set(s.constraints.always)
            out = []
            for k in range(1, len(self.sources) + 1):
                for combo in itertools.combinations(self.sources, k):
                    if always <= set(combo):
                        out.append(Mixture(combo))
            return out
        rng = random.Random(seed)
        found: dict[Mixture, None] = {}
        for _ in range(POOL):
            weights = {src: rng.gammavariate(s.prior.get(src, 1.0), 1.0) + EPS for src in self.sources}
            mix = self.shares(weights)
            if mix is not None:
                found[mix] = None
        return list(found)

    def size(self) -> float:
        """How many distinct mixtures the space holds (inf-like for shares: a large number)."""
        if self.settings.space == "subsets":
            free = len(self.sources) - len(set(self.settings.constraints.always))
            return 2**free - (0 if self.settings.constraints.always else 1)
        return float(math.comb(self.units + len(self.sources) - 1, len(self.sources) - 1))
