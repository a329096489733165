"""Saturating fits of score vs budget per size and the budgets where two fitted curves cross (pure).

* `fit_saturating`: s(b) = a - c * (b / b_ref) ** -alpha per size by least squares on every seed's
  point (scipy.optimize.curve_fit), with parameter standard errors from the covariance.
* `crossovers`: budgets where two fitted curves cross, with a 95 % interval from parameter draws.
Rows as in SWEEP_DIR/results.csv (typed); randomness only from the `seed` arguments.
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from funsearch.study.analysis import EVOLVE


@dataclass(frozen=True)
class Fit:
    """s(b) = a - c * (b / b_ref) ** -alpha, fitted to (budget, score) points.

    Attributes:
      params: (a, c, alpha); stderr: their standard errors (nan when the covariance is not finite).
      cov: 3x3 parameter covariance (list of lists); b_ref: the budget scale (largest budget fitted).
      rmse: root mean square residual; points: number of points fitted.
    """

    params: tuple[float, float, float]
    stderr: tuple[float, float, float]
    cov: tuple[tuple[float, ...], ...]
    b_ref: float
    rmse: float
    points: int

    def __call__(self, b):
        return saturating(np.asarray(b, dtype=float) / self.b_ref, *self.params)

    @property
    def has_uncertainty(self) -> bool:
        return all(math.isfinite(s) for s in self.stderr)


@dataclass(frozen=True)
class Crossover:
    """A budget where curve `first` stops being better than `second` (or starts), with a 95 % interval."""

    problem: str
    first: str
    second: str
    budget: float
    lo: float | None
    hi: float | None
    better_after: str
    probability: float   # share of parameter draws with a crossover inside the searched range


def saturating(x, a, c, alpha):
    """a - c * x ** -alpha: rises towards the asymptote a as x grows (c, alpha > 0)."""
    return a - c * np.power(x, -alpha)


def fit_saturating(budgets, scores) -> Fit | None:
    """Least-squares fit of s(b) = a - c (b/b_ref)^-alpha; None with fewer than 3 distinct budgets, with scores
    that do not change with the budget (nothing to fit: the curve's parameters would be arbitrary), or no fit."""
    from scipy.optimize import OptimizeWarning, curve_fit

    b = np.asarray(budgets, dtype=float)
    y = np.asarray(scores, dtype=float)
    keep = np.isfinite(b) & np.isfinite(y) & (b > 0)
    b, y = b[keep], y[keep]
    if len(np.unique(b)) < 3 or float(y.max() - y.min()) == 0.0:
        return None
    b_ref = float(b.max())
    x = b / b_ref
    spread = float(y.max() - y.min()) or 1.0
    p0 = (float(y.max()) + 0.1 * spread, spread, 0.5)
    bounds = ([-np.inf, 0.0, 1e-3], [np.inf, np.inf, 5.0])
    try:
        with warnings.catch_warnings():  # an inestimable covariance is reported as nan stderr below, not warned
            warnings.simplefilter("ignore", OptimizeWarning)
            params, cov = curve_fit(saturating, x, y, p0=p0, bounds=bounds, maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    cov = np.asarray(cov, dtype=float)
    stderr = tuple(float(math.sqrt(v)) if math.isfinite(v) and v >= 0 else math.nan for v in np.diag(cov))
    rmse = float(np.sqrt(np.mean((saturating(x, *params) - y) ** 2)))
    return Fit(tuple(float(p) for p in params), stderr, tuple(tuple(float(v) for v in row) for row in cov),
               b_ref, rmse, int(len(b)))


def _roots(diff, lo: float, hi: float, grid: int = 400) -> list[float]:
    """Sign changes of diff on a log grid over [lo, hi], refined by bisection."""
    from scipy.optimize import brentq

    xs = np.geomspace(lo, hi, grid)
    ys = diff(xs)
    roots: list[float] = []
    if np.all(np.abs(ys) <= 1e-12):  # the curves coincide: no crossing to report
        return roots
    for i in range(grid - 1):
        if ys[i] == 0 and 0 < i and ys[i - 1] * ys[i + 1] < 0:
            roots.append(float(xs[i]))
        elif ys[i] * ys[i + 1] < 0:
            roots.append(float(brentq(lambda t: float(diff(np.asarray([t]))[0]), xs[i], xs[i + 1])))
    return roots


def _nearest_roots(pa, ref_a, pb, ref_b, lo: float, hi: float, near: float, grid: int = 240) -> list[float]:
    """For each pair of parameter draws, the crossing on a log grid nearest to `near` (log-linear interpolation)."""
    xs = np.geomspace(lo, hi, grid)
    pa, pb = np.array(pa), np.array(pb)
    pa[:, 1:] = np.maximum(pa[:, 1:], 1e-9)
    pb[:, 1:] = np.maximum(pb[:, 1:], 1e-9)
    ya = pa[:, :1] - pa[:, 1:2] * np.power(xs[None, :] / ref_a, -pa[:, 2:3])
    yb = pb[:, :1] - pb[:, 1:2] * np.power(xs[None, :] / ref_b, -pb[:, 2:3])
    d = ya - yb
    logx = np.log(xs)
    found = []
    for row in d:
        idx = np.nonzero(np.sign(row[:-1]) * np.sign(row[1:]) < 0)[0]
        if idx.size == 0:
            continue
        t = row[idx] / (row[idx] - row[idx + 1])
        roots = np.exp(logx[idx] + t * (logx[idx + 1] - logx[idx]))
        found.append(float(roots[np.argmin(np.abs(np.log(roots / near)))]))
    return found


def crossovers(problem: str, fits: dict[str, Fit], lo: float, hi: float, seed: int = 0,
               draws: int = 400) -> list[Crossover]:
    """Budgets in [lo, hi] where the fitted curves of two sizes cross, with a 95 % interval over parameter draws."""
    out = []
    names = sorted(fits)
    rng = np.random.default_rng(seed)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            fa, fb = fits[first], fits[second]
            for root in _roots(lambda b, fa=fa, fb=fb: fa(b) - fb(b), lo, hi):
                after = first if fa(root * 1.01) > fb(root * 1.01) else second
                found = []
                if fa.has_uncertainty and fb.has_uncertainty:
                    pa = rng.multivariate_normal(fa.params, np.asarray(fa.cov), size=draws, method="svd")
                    pb = rng.multivariate_normal(fb.params, np.asarray(fb.cov), size=draws, method="svd")
                    found = _nearest_roots(pa, fa.b_ref, pb, fb.b_ref, lo, hi, root)
                if len(found) >= 20:
                    r_lo, r_hi = (float(v) for v in np.percentile(found, [2.5, 97.5]))
                else:
                    r_lo = r_hi = None
                out.append(Crossover(problem, first, second, root, r_lo, r_hi, after,
                                     len(found) / draws if fa.has_uncertainty and fb.has_uncertainty else math.nan))
    return out


def fits_by_size(rows, problem: str) -> dict[str, Fit]:
    """A saturating fit of score vs budget for each evolving size of `problem` (sizes that cannot be fitted are
    left out)."""
    by_size = defaultdict(list)
    for r in rows:
        if r["problem"] == problem and r["mode"] == EVOLVE:
            by_size[r["size"]].append(r)
    fits = {}
    for size, group in by_size.items():
        fit = fit_saturating([r["budget_amount"] for r in group], [r["score"] for r in group])
        if fit is not None:
            fits[size] = fit
    return fits
