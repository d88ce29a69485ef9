"""What the runs so far say about every mixture: two regressions over shares, and the predicted best.

run: mixft search search_smoke    (after each round: the predicted best, its interval, the model used)

- linear: ridge regression of the objective on the share vector (no intercept: shares sum to 1, so
  each coefficient is a source's value as the whole mix); its interval is the 2.5-97.5 percentiles
  of 200 refits on bootstrap resamples of the runs.
- gp: a Gaussian process (scikit-learn: constant x RBF plus white noise, normalised targets); its
  interval is the posterior mean +- 1.96 standard deviations.
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


def _gp(x: Any, y: Any) -> Any:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(0.5, (0.05, 10.0)) + WhiteKernel(1e-3, (1e-6, 1.0))
    return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=0).fit(
        x, y
    )


FITS = {"linear": _linear, "gp": _gp}


def loo_rmse(fit: Any, x: Any, y: Any) -> float:
    """Leave-one-out root mean squared error of a model kind on these runs."""
    import numpy as np

    errors = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        errors.append(float(fit(x[keep], y[keep]).predict(x[i : i + 1])[0] - y[i]))
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def predict_best(space: Space, observed: dict[Mixture, float], seed: int = 0) -> Prediction | None:
    """The mixture the runs so far predict best, with its interval (module docstring: how)."""
    import warnings

    import numpy as np

    if not observed:
        return None
    if len(observed) < 3:
        mix, value = max(observed.items(), key=lambda item: item[1])
        return Prediction(mix, value, value, value, "observed", {})
    mixes = list(observed)
    x = np.array([space.features(m) for m in mixes])
    y = np.array([observed[m] for m in mixes])
    with warnings.catch_warnings():  # a GP on a handful of points warns about its bounds
        warnings.simplefilter("ignore")
        errors = {name: loo_rmse(fit, x, y) for name, fit in FITS.items()}
        chosen = min(errors, key=errors.__getitem__)
        model = FITS[chosen](x, y)
        pool = list(dict.fromkeys([*space.pool(seed), *mixes]))
        grid = np.array([space.features(m) for m in pool])
        means = model.predict(grid)
        best = int(np.argmax(means))
        low, high = _interval(chosen, model, x, y, grid[best : best + 1], seed)
    return Prediction(pool[best], float(means[best]), low, high, chosen, errors)


def _interval(kind: str, model: Any, x: Any, y: Any, point: Any, seed: int) -> tuple[float, float]:
    import numpy as np

    if kind == "gp":
        mean, std = model.predict(point, return_std=True)
        return float(mean[0] - Z95 * std[0]), float(mean[0] + Z95 * std[0])
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(y), len(y))
        draws.append(float(_linear(x[pick], y[pick]).predict(point)[0]))
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)
