"""Adaptive sweeps (pure): which size gets its next seed, by expected information gain about the best size.

The question a sweep answers is, at every budget b, argmax over sizes of the mean best score mu[s, b].
One run of size s to the largest budget yields its score at every budget (the ledger's checkpoints): a
curve y[b] = mu[s, b] + e[b], where the noise curve e is shared in shape by all runs (seed-to-seed spread,
strongly correlated between adjacent budgets of one run). So the unit of choice is a run: a new seed of
one size, to the largest budget.

Posterior (the same one judges grid and adaptive sweeps):
* mu[s, b] has a flat prior; with n[s, b] runs observed at b its posterior is centred on their mean with
  scale sigma_b / sqrt(n[s, b]) (a Student-t, see below).
* the noise scale is pooled over sizes and shared across budgets: sigma_b^2 = k_b * sigma^2, with k_b the
  budget's share of the residual variance (smoothed towards 1), and sigma^2 from all residuals, counted
  as sum_s (runs_s - 1) degrees of freedom: the checkpoints of one run are one draw of a curve, not
  independent observations. A prior scale counts as `prior_n` degrees of freedom.
* with nu degrees of freedom the mean is Student-t(nu): few runs give heavy tails, so a sweep cannot stop
  early on a lucky low variance estimate.

P(size is best at b) is computed by one-dimensional integration; the sweep's confidence is the smallest,
over budgets, of the best size's probability. The expected information gain of a run of size s is the sum
over budgets of the expected drop in the entropy of the argmax at b (one more observation of (s, b)),
averaged over its predictive outcome by Gauss-Hermite quadrature; budgets already at the target confidence
count a tenth. Every size first gets `min_runs` runs (a variance needs two); a size whose probability of
being best is below `dominated` at every budget gets no more. The sweep stops when every size has its
minimum and the confidence reaches the target.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(12)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()
MIN_RUNS = 2
DOMINATED = 0.01
GAIN_POINTS = 121     # integration points for information gains (P(best) itself uses 241)


@dataclass(frozen=True)
class Posterior:
    """The posterior of every (size, budget) cell's mean score.

    Attributes:
      sizes: the sizes (rows); budgets: the budget amounts (columns), ascending.
      mean, scale: arrays (sizes, budgets): centre and scale of each cell's Student-t posterior.
      n: (sizes, budgets) runs observed at each cell; runs: (sizes,) runs of each size.
      sigma2: (budgets,) noise variance of one run's score at each budget; df: degrees of freedom.
      rho: mean correlation of one run's noise between adjacent budgets (nan without data): reported only.
    """

    sizes: tuple[str, ...]
    budgets: tuple[float, ...]
    mean: np.ndarray
    scale: np.ndarray
    n: np.ndarray
    runs: np.ndarray
    sigma2: np.ndarray
    df: float
    rho: float = math.nan

    def prob_best(self) -> np.ndarray:
        """(sizes, budgets): probability that each size has the highest mean at each budget."""
        return np.stack([prob_max(self.mean[:, j], self.scale[:, j] ** 2, self.df)
                         for j in range(len(self.budgets))], axis=1)

    def answer(self) -> list[tuple[str, float]]:
        """(best size, its probability) per budget."""
        p = self.prob_best()
        return [(self.sizes[int(np.argmax(p[:, j]))], float(p[:, j].max())) for j in range(len(self.budgets))]

    def confidence(self) -> float:
        """The smallest over budgets of the best size's probability."""
        return float(self.prob_best().max(axis=0).min())


def prob_max(mean, var, df: float = math.inf, points: int = 241) -> np.ndarray:
    """P(X_i is the largest) for independent X_i = mean_i + sqrt(var_i) * T_df (normal for df = inf).

    P_i = E[prod_{k != i} F_k(X_i)], integrated on a grid in X_i's own standard units (so a narrow density
    beside wide ones is resolved). With K sets of means at once, pass arrays of shape (K, S); returns (K, S)
    (or (S,) for 1-D input).
    """
    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    single = mean.ndim == 1
    mean, var = np.atleast_2d(mean), np.broadcast_to(np.atleast_2d(var), np.atleast_2d(mean).shape)
    sd = np.sqrt(np.maximum(var, 1e-300))
    S = mean.shape[1]
    if S == 1:
        out = np.ones_like(mean)
        return out[0] if single else out
    u, w = _grid(df, points)
    x = mean[:, :, None] + sd[:, :, None] * u[None, None, :]                          # (K, S_i, U)
    z = (x[:, :, None, :] - mean[:, None, :, None]) / sd[:, None, :, None]            # (K, S_i, S_k, U)
    cdf = _cdf(df, z)
    cdf[:, np.arange(S), np.arange(S), :] = 1.0                                       # k == i: no factor
    p = cdf.prod(axis=2) @ w
    p = np.clip(p, 0.0, None)
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
    return p[0] if single else p


_GRIDS: dict = {}
_CDFS: dict = {}


def _cdf(df: float, z: np.ndarray) -> np.ndarray:
    """CDF of T_df (N(0, 1) for df = inf), interpolated from a table over arctan(z / 4) (error < 1e-6)."""
    if df not in _CDFS:
        from scipy.special import ndtr, stdtr

        theta = np.linspace(-math.pi / 2, math.pi / 2, 20001)[1:-1]
        zs = 4.0 * np.tan(theta)
        table = stdtr(df, zs) if math.isfinite(df) else ndtr(zs)
        _CDFS[df] = (np.concatenate([[-math.pi / 2], theta, [math.pi / 2]]), np.concatenate([[0.0], table, [1.0]]))
        if len(_CDFS) > 64:
            _CDFS.pop(next(iter(_CDFS)))
    theta, table = _CDFS[df]
    return np.interp(np.arctan(z / 4.0), theta, table)


def _grid(df: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-unit nodes and trapezoid weights times the density of T_df (or N(0, 1)), normalised."""
    key = (df, points)
    if key not in _GRIDS:
        from scipy.special import gammaln

        width = 8.0 if not math.isfinite(df) else 8.0 + 40.0 / max(df, 1.0)
        u = np.linspace(-width, width, points)
        if math.isfinite(df):
            log_c = gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * math.log(df * math.pi)
            pdf = np.exp(log_c - (df + 1) / 2 * np.log1p(u * u / df))
        else:
            pdf = np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)
        w = pdf * (u[1] - u[0])
        w[[0, -1]] *= 0.5
        _GRIDS[key] = (u, w / w.sum())
    return _GRIDS[key]


def entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits along the last axis."""
    p = np.clip(p, 1e-300, 1.0)
    return -(p * np.log2(p)).sum(axis=-1)


def run_curves(rows, budgets, key: str = "budget") -> dict[str, list[list[float | None]]]:
    """{size: [score curve per run]} from results rows (pure): a run is a (size, seed, cell); its curve holds its
    score at each of `budgets` (matched on row[key]), the budgets it did not reach dropped from the end."""
    index = {b: j for j, b in enumerate(budgets)}
    by_run: dict[tuple, list] = {}
    for r in rows:
        if r[key] not in index:
            continue
        curve = by_run.setdefault((r["size"], r.get("seed"), r.get("cell")), [None] * len(budgets))
        curve[index[r[key]]] = None if r["score"] is None else float(r["score"])
    out: dict[str, list] = {}
    for (size, _, _), curve in by_run.items():
        while curve and curve[-1] is None:
            curve.pop()
        if curve:
            out.setdefault(size, []).append(curve)
    return out


def fit_posterior(runs: dict[str, list[list[float | None]]], sizes, budgets, prior_scale: float | None = None,
                  prior_n: float = 1.0) -> Posterior:
    """The posterior from runs {size: [curve of one run: score at budget 0, 1, ... (None: not observed)]}
    (`run_curves` makes them from results rows, for the adaptive sweep and the report alike).

    A curve may be shorter than the budgets (a run to a smaller budget). prior_scale: prior noise standard
    deviation (default: a tenth of the range of all scores, or 1 without any), worth `prior_n` degrees of
    freedom. A cell without observations gets its budget's mean over sizes and a scale wide enough to make
    every size there about equally likely to be best.
    """
    sizes, budgets = tuple(sizes), tuple(float(b) for b in budgets)
    S, B = len(sizes), len(budgets)
    y = np.full((S, max(1, sum(len(v) for v in runs.values())), B), np.nan)
    count = np.zeros(S, dtype=int)
    for size, curves in runs.items():
        if size not in sizes:
            continue
        i = sizes.index(size)
        for curve in curves:
            vals = [math.nan if v is None else float(v) for v in list(curve)[:B]]
            if not np.isfinite(vals).any():
                continue
            y[i, count[i], :len(vals)] = vals
            count[i] += 1
    y = y[:, : max(1, count.max(initial=0)), :]
    seen = np.isfinite(y)
    n = seen.sum(axis=1).astype(float)                                       # (S, B)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(y, axis=1) / np.maximum(n, 1), np.nan)
    resid = np.where(seen, y - mean[:, None, :], 0.0)
    ss_b = (resid ** 2).sum(axis=(0, 1))                                    # (B,)
    dof_b = np.maximum(n - 1, 0).sum(axis=0)                                 # (B,)
    values = y[seen]
    if prior_scale is None:
        prior_scale = 0.1 * float(np.ptp(values)) if values.size > 1 else 1.0
    prior_scale = max(float(prior_scale), 1e-9)
    # share of each budget in the residual variance, smoothed towards an equal share
    per_b = np.where(dof_b > 0, ss_b / np.maximum(dof_b, 1), np.nan)
    pooled = float(ss_b.sum() / dof_b.sum()) if dof_b.sum() > 0 else prior_scale ** 2
    share = np.where(np.isfinite(per_b), (dof_b * per_b / max(pooled, 1e-300) + 2.0) / (dof_b + 2.0), 1.0)
    run_dof = float(np.maximum(count - 1, 0).sum())
    df = prior_n + run_dof
    sigma2_common = (prior_n * prior_scale ** 2 + run_dof * pooled) / df
    sigma2 = sigma2_common * share
    scale = np.sqrt(sigma2[None, :] / np.maximum(n, 1))
    for j in range(B):
        empty = n[:, j] == 0
        if empty.any():
            fill = float(mean[~empty, j].mean()) if (~empty).any() else (float(values.mean()) if values.size else 0.0)
            spread = float(np.ptp(values)) if values.size > 1 else prior_scale
            mean[empty, j] = fill
            scale[empty, j] = math.sqrt(spread ** 2 + sigma2[j])
    rho = _adjacent_correlation(resid, seen)
    return Posterior(sizes, budgets, mean, scale, n, count, sigma2, float(df), rho)


def _adjacent_correlation(resid: np.ndarray, seen: np.ndarray) -> float:
    """Mean correlation of residuals at adjacent budgets of the same run (nan when not estimable)."""
    both = seen[..., :-1] & seen[..., 1:]
    if resid.shape[-1] < 2 or both.sum() < 3:
        return math.nan
    a, b = resid[..., :-1][both], resid[..., 1:][both]
    denom = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else math.nan


def cell_gain(post: Posterior, i: int, j: int) -> float:
    """Expected drop of the entropy of the argmax at budget j from one more run of size i observed at j (bits)."""
    mu, var, s2, df = post.mean[:, j], post.scale[:, j] ** 2, post.sigma2[j], post.df
    before = float(entropy(prob_max(mu, var, df, points=GAIN_POINTS)))
    y = mu[i] + np.sqrt(var[i] + s2) * _GH_NODES                           # predictive outcomes (quadrature)
    n = post.n[i, j]
    means = np.repeat(mu[None, :], len(y), axis=0)
    new_var = np.repeat(var[None, :], len(y), axis=0)
    if n > 0:
        means[:, i] = (n * mu[i] + y) / (n + 1)
        new_var[:, i] = s2 / (n + 1)
    else:
        means[:, i] = y
        new_var[:, i] = s2
    after = float((_GH_WEIGHTS * entropy(prob_max(means, new_var, df, points=GAIN_POINTS))).sum())
    return max(0.0, before - after)


@dataclass(frozen=True)
class Choice:
    """The next run: a new seed of `size` to the largest budget, why, and its expected gain (bits)."""

    size: str
    reason: str                 # "minimum" (a size below min_runs) or "gain"
    gain: float
    gains: dict                 # size -> expected gain (bits), for sizes still in play


def in_play(post: Posterior, dominated: float = DOMINATED) -> list[int]:
    """Sizes whose probability of being best reaches `dominated` at some budget."""
    p = post.prob_best()
    return [i for i in range(len(post.sizes)) if p[i].max() >= dominated]


def choose_next(post: Posterior, target: float | None = None, min_runs: int = MIN_RUNS,
                dominated: float = DOMINATED) -> Choice:
    """Which size gets its next seed: first any size below `min_runs` (fewest runs first, then order),
    else the size in play with the largest target-weighted expected information gain summed over budgets."""
    short = [i for i in range(len(post.sizes)) if post.runs[i] < min_runs]
    if short:
        i = min(short, key=lambda k: (post.runs[k], k))
        return Choice(post.sizes[i], "minimum", math.nan, {})
    weight = np.ones(len(post.budgets))
    if target is not None:
        weight[post.prob_best().max(axis=0) >= target] = 0.1
    gains = {post.sizes[i]: float(sum(weight[j] * cell_gain(post, i, j) for j in range(len(post.budgets))))
             for i in in_play(post, dominated)}
    size = max(gains, key=lambda s: (gains[s], -post.sizes.index(s)))
    return Choice(size, "gain", gains[size], gains)


def should_stop(post: Posterior, target: float, max_runs: int, min_runs: int = MIN_RUNS) -> str | None:
    """Why to stop: "confident" (every size has min_runs and the confidence reaches target), "max-runs", or None."""
    if post.runs.min() >= min_runs and post.n.min() > 0 and post.confidence() >= target:
        return "confident"
    if post.runs.sum() >= max_runs:
        return "max-runs"
    return None
