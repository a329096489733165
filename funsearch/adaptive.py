"""Adaptive sweeps (pure): choose the next (size, budget) run by expected information gain about which size wins.

The question a sweep answers is, at every budget b, argmax over sizes of the mean best score. Each
(size, budget) cell gets a Gaussian posterior over its mean score:

* every run of a size to budget j gives one observation at each budget <= j (its ledger's checkpoints);
* the noise variance sigma^2 (seed-to-seed spread of a run's score) is pooled over all cells of a problem,
  shrunk towards a prior scale with `prior_n` pseudo-observations;
* a cell's mean has a flat prior, so with n observations it is N(mean, sigma^2 / n); a cell without
  observations borrows the mean of its budget's other cells with a wide variance.

The entropy of P(size is best at b) (computed exactly by one-dimensional integration) measures what is
still unknown at b. A new run of size s to budget j adds an observation y ~ N(mu, tau^2 + sigma^2) to
every cell (s, b <= j); its expected information gain is the sum over those budgets of the entropy drop,
averaged over y by Gauss-Hermite quadrature. The next run is the (size, budget) with the largest gain per
unit of cost (a run to budget j costs about b_j plus `overhead`). A sweep stops when the best size at every
budget has probability >= the target confidence.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


@dataclass(frozen=True)
class Posterior:
    """Gaussian posterior of every (size, budget) cell's mean score.

    Attributes:
      sizes: the sizes (rows); budgets: the budget amounts (columns), ascending.
      mean, var: arrays of shape (sizes, budgets): posterior mean and variance of each cell's mean score.
      n: observations per cell.
      sigma2: pooled seed-to-seed noise variance of one run's score.
    """

    sizes: tuple[str, ...]
    budgets: tuple[float, ...]
    mean: np.ndarray
    var: np.ndarray
    n: np.ndarray
    sigma2: float

    def prob_best(self) -> np.ndarray:
        """(sizes, budgets): probability that each size has the highest mean at each budget."""
        return np.stack([prob_max(self.mean[:, j], self.var[:, j]) for j in range(len(self.budgets))], axis=1)

    def answer(self) -> list[tuple[str, float]]:
        """(best size, its probability) per budget."""
        p = self.prob_best()
        return [(self.sizes[int(np.argmax(p[:, j]))], float(p[:, j].max())) for j in range(len(self.budgets))]

    def confidence(self) -> float:
        """The smallest over budgets of the best size's probability."""
        return float(self.prob_best().max(axis=0).min())


def prob_max(mean, var, points: int = 801) -> np.ndarray:
    """P(X_i is the largest) for independent X_i ~ N(mean_i, var_i), by integration on a grid.

    With K sets of means at once, pass arrays of shape (K, S); returns (K, S) (or (S,) for 1-D input).
    """
    from scipy.special import ndtr

    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    single = mean.ndim == 1
    mean, var = np.atleast_2d(mean), np.broadcast_to(np.atleast_2d(var), np.atleast_2d(mean).shape)
    sd = np.sqrt(np.maximum(var, 1e-300))
    if mean.shape[1] == 1:
        out = np.ones_like(mean)
        return out[0] if single else out
    lo = (mean - 8 * sd).min(axis=1, keepdims=True)
    hi = (mean + 8 * sd).max(axis=1, keepdims=True)
    x = lo + (hi - lo) * np.linspace(0.0, 1.0, points)[None, :]            # (K, X)
    z = (x[:, None, :] - mean[:, :, None]) / sd[:, :, None]                # (K, S, X)
    cdf = ndtr(z)
    pdf = np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * sd[:, :, None])
    log_cdf = np.log(np.maximum(cdf, 1e-300))
    others = np.exp(log_cdf.sum(axis=1, keepdims=True) - log_cdf)          # product over t != s
    dens = pdf * others
    dx = (hi - lo) / (points - 1)
    p = (dens.sum(axis=2) - 0.5 * (dens[:, :, 0] + dens[:, :, -1])) * dx
    p = np.clip(p, 0.0, None)
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
    return p[0] if single else p


def entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits along the last axis."""
    p = np.clip(p, 1e-300, 1.0)
    return -(p * np.log2(p)).sum(axis=-1)


def fit_posterior(observations: dict[tuple[str, int], list[float]], sizes, budgets,
                  prior_scale: float | None = None, prior_n: float = 2.0) -> Posterior:
    """The posterior of every cell from observations {(size, budget index): [scores of runs]}.

    prior_scale: prior seed-to-seed standard deviation (default: a tenth of the range of all observations,
    or 1 without any); it counts as `prior_n` observations' worth of evidence about sigma.
    """
    sizes, budgets = tuple(sizes), tuple(float(b) for b in budgets)
    S, B = len(sizes), len(budgets)
    all_values = [v for vs in observations.values() for v in vs]
    if prior_scale is None:
        prior_scale = 0.1 * (max(all_values) - min(all_values)) if len(all_values) > 1 else 1.0
    prior_scale = max(prior_scale, 1e-9)
    n = np.zeros((S, B))
    mean = np.zeros((S, B))
    ss, dof = 0.0, 0.0
    for (size, j), values in observations.items():
        if size not in sizes or not values:
            continue
        i = sizes.index(size)
        x = np.asarray(values, dtype=float)
        n[i, j], mean[i, j] = x.size, x.mean()
        ss += float(((x - x.mean()) ** 2).sum())
        dof += x.size - 1
    sigma2 = (prior_n * prior_scale ** 2 + ss) / (prior_n + dof)
    var = np.where(n > 0, sigma2 / np.maximum(n, 1), 0.0)
    spread = float(np.var(all_values)) if len(all_values) > 1 else prior_scale ** 2
    for j in range(B):
        seen = n[:, j] > 0
        fill = mean[seen, j].mean() if seen.any() else (float(np.mean(all_values)) if all_values else 0.0)
        mean[~seen, j] = fill
        var[~seen, j] = spread + sigma2
    return Posterior(sizes, budgets, mean, var, n, float(sigma2))


def cell_gain(post: Posterior, i: int, j: int) -> float:
    """Expected drop of the entropy of the argmax at budget j from one more run of size i reaching j (bits)."""
    mu, tau2, s2 = post.mean[:, j], post.var[:, j], post.sigma2
    before = float(entropy(prob_max(mu, tau2)))
    y = mu[i] + np.sqrt(tau2[i] + s2) * _GH_NODES                         # predictive draws (quadrature nodes)
    new_var = 1.0 / (1.0 / tau2[i] + 1.0 / s2)
    means = np.repeat(mu[None, :], len(y), axis=0)
    means[:, i] = new_var * (mu[i] / tau2[i] + y / s2)
    var = np.repeat(tau2[None, :], len(y), axis=0)
    var[:, i] = new_var
    after = float((_GH_WEIGHTS * entropy(prob_max(means, var))).sum())
    return max(0.0, before - after)


@dataclass(frozen=True)
class Choice:
    """The next run: size, budget index, its expected information gain (bits) and gain per unit cost."""

    size: str
    budget_index: int
    gain: float
    gain_per_cost: float


def choose_next(post: Posterior, overhead: float = 0.0, target: float | None = None) -> Choice:
    """The (size, budget) run with the largest expected information gain per unit of cost.

    With a target confidence, budgets whose best size is already that probable count a tenth: the
    information that matters is where the stopping rule still waits.
    """
    weight = np.ones(len(post.budgets))
    if target is not None:
        weight[post.prob_best().max(axis=0) >= target] = 0.1
    gains = np.array([[weight[j] * cell_gain(post, i, j) for j in range(len(post.budgets))]
                      for i in range(len(post.sizes))])
    cumulative = np.cumsum(gains, axis=1)                                  # a run to j informs every b <= j
    cost = np.asarray(post.budgets) + overhead
    per_cost = cumulative / cost[None, :]
    i, j = np.unravel_index(int(np.argmax(per_cost)), per_cost.shape)
    return Choice(post.sizes[i], int(j), float(cumulative[i, j]), float(per_cost[i, j]))


def initial_design(sizes, budgets) -> list[tuple[str, int]]:
    """Before any data: one run per size to the largest budget (an observation at every budget of every size)."""
    return [(size, len(tuple(budgets)) - 1) for size in sizes]


def should_stop(post: Posterior, target: float, runs: int, max_runs: int) -> str | None:
    """Why to stop ("confident" when every budget's best size has probability >= target; "max-runs"), or None."""
    if post.n.min() > 0 and post.confidence() >= target:
        return "confident"
    if runs >= max_runs:
        return "max-runs"
    return None
