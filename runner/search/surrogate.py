"""What the runs so far say about every mixture: two regressions over shares, and the predicted best.

run: mixft search search_smoke    (after each round: the predicted best, its interval, the model used)

- linear: ridge regression of the objective on the share vector (no intercept: shares sum to 1, so
  each coefficient is a source's value as the whole mix); its interval is the 2.5-97.5 percentiles
  of 200 refits on bootstrap resamples of the runs, each with a draw of the evaluation noise.
- gp: a Gaussian process (scikit-learn: constant x RBF plus white noise) whose per-run noise is the
  objective's sampling variance over its eval rows (objective.py); its interval is the posterior
  mean +- 1.96 standard deviations of a new run's score (the posterior's and the eval noise).
The intervals are for what a run of the mixture would score, evaluation noise included.
The model with the lower leave-one-out error predicts; both are reported. The predicted best is the
mixture of the space's pool (every subset, or Dirichlet draws plus the mixtures run) with the highest
predicted objective. With fewer than three runs nothing is fitted: the best run so far stands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mixft.runner.plan.candidates import Mixture
from mixft.runner.search.space import Space

BOOTSTRAP = 200
Z95 = 1.96


@dataclass(frozen=True)
class Prediction:
    """A mixture's predicted objective with its 95% interval, and how it was predicted."""

    mixture: Mixture
    mean: float
    low: float
    high: float
    model: str  # linear | gp | observed
    loo_rmse: dict[str, float]

    def row(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "mixture": self.mixture.label(),
            "tasks": list(self.mixture.tasks),
            "shares": {t: self.mixture.share_of(t) for t in self.mixture.tasks},
            "predicted": self.mean,
            "interval": [self.low, self.high],
            "model": self.model,
            "loo_rmse": self.loo_rmse,
        }


def _linear(x: Any, y: Any) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1e-3, fit_intercept=False).fit(x, y)


class _CentredGP:
    """A GP on targets minus their mean, with each run's own noise variance on the diagonal."""

    def __init__(self, x: Any, y: Any, noise: Any) -> None:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        self.mean = float(y.mean())
        scale = max(float(y.var()), 1e-6)
        kernel = ConstantKernel(scale, (1e-6, 1e2)) * RBF(0.5, (0.05, 10.0)) + WhiteKernel(1e-4, (1e-8, 1.0))
        self.model = GaussianProcessRegressor(
            kernel, alpha=noise + 1e-10, n_restarts_optimizer=2, random_state=0
        )
        self.model.fit(x, y - self.mean)

    def predict(self, x: Any, return_std: bool = False) -> Any:
        """The posterior mean at `x` (and its standard deviation)."""
        if return_std:
            mean, std = self.model.predict(x, return_std=True)
            return mean + self.mean, std
        return self.model.predict(x) + self.mean


FITS = {"linear": lambda x, y, noise: _linear(x, y), "gp": _CentredGP}


def loo_rmse(fit: Any, x: Any, y: Any, noise: Any) -> float:
    """Leave-one-out root mean squared error of a model kind on these runs."""
    import numpy as np

    errors = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        errors.append(float(fit(x[keep], y[keep], noise[keep]).predict(x[i : i + 1])[0] - y[i]))
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def predict_best(
    space: Space, observed: dict[Mixture, float], variances: dict[Mixture, float] | None = None, seed: int = 0
) -> Prediction | None:
    """The mixture the runs so far predict best, with its interval (module docstring: how).

    Args:
        space: The search's space (features, and the pool of mixtures to score).
        observed: Each scored mixture's objective.
        variances: Each one's sampling variance (0 where unknown).
        seed: For the pool's draws and the bootstrap.
    """
    import warnings

    import numpy as np

    if not observed:
        return None
    variances = variances or {}
    if len(observed) < 3:
        mix, value = max(observed.items(), key=lambda item: item[1])
        half = Z95 * math.sqrt(variances.get(mix, 0.0))
        return Prediction(mix, value, value - half, value + half, "observed", {})
    mixes = list(observed)
    x = np.array([space.features(m) for m in mixes])
    y = np.array([observed[m] for m in mixes])
    noise = np.array([variances.get(m, 0.0) for m in mixes])
    with warnings.catch_warnings():  # a GP on a handful of points warns about its bounds
        warnings.simplefilter("ignore")
        errors = {name: loo_rmse(fit, x, y, noise) for name, fit in FITS.items()}
        chosen = min(errors, key=errors.__getitem__)
        model = FITS[chosen](x, y, noise)
        pool = list(dict.fromkeys([*space.pool(seed), *mixes]))
        grid = np.array([space.features(m) for m in pool])
        means = model.predict(grid)
        best = int(np.argmax(means))
        low, high = _interval(chosen, model, x, y, grid[best : best + 1], float(noise.mean()), seed)
    return Prediction(pool[best], float(means[best]), low, high, chosen, errors)


def _interval(
    kind: str, model: Any, x: Any, y: Any, point: Any, noise: float, seed: int
) -> tuple[float, float]:
    """95% interval of a new run's objective at `point`: the model's uncertainty and the eval noise."""
    import numpy as np

    if kind == "gp":
        mean, std = model.predict(point, return_std=True)
        half = Z95 * math.sqrt(float(std[0]) ** 2 + noise)
        return float(mean[0] - half), float(mean[0] + half)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(y), len(y))
        draws.append(float(_linear(x[pick], y[pick]).predict(point)[0]) + rng.normal(0.0, math.sqrt(noise)))
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)
