"""Pure analysis of a sweep's results rows: bootstrap CIs over seeds, the best size per budget, curve fits.

Input rows are dicts as in SWEEP_DIR/results.csv (typed): problem, size, mode, seed, budget (text),
budget_amount, score (higher is better), metric, baseline_score, modelled_cost, ... One row per
(run, budget checkpoint). No I/O; randomness only from the `seed` arguments.

* `curves`: mean and 95 % bootstrap CI over seeds of a field, per (problem, mode, size, budget).
* `best_sizes`: the answer: per (problem, budget) the size with the best mean score among the
  evolving runs, its margin over the runner-up and the posterior probability that it is best (and the bootstrap's).
* `fit_saturating`: s(b) = a - c * (b / b_ref) ** -alpha per size by least squares on every seed's
  point (scipy.optimize.curve_fit), with parameter standard errors from the covariance.
* `crossovers`: budgets where two fitted curves cross, with a 95 % interval from parameter draws.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

EVOLVE = "evolve"


@dataclass(frozen=True)
class CurvePoint:
    """Mean of a field over seeds at one budget, with its 95 % bootstrap interval."""

    problem: str
    mode: str
    size: str
    budget: str
    budget_amount: float
    mean: float
    lo: float
    hi: float
    n: int


@dataclass(frozen=True)
class Answer:
    """The best size at one budget of one problem.

    Attributes:
      best: the size with the highest mean score over seeds (None when no size has a result).
      runner_up: the second best size (None with one size).
      margin: best mean minus runner-up mean (score units; 0 with one size).
      confidence: posterior probability that `best` has the highest mean (`posterior_best`).
      means: size -> mean score; n: size -> seeds.
      prob_best: size -> posterior probability of being best.
      bootstrap: size -> bootstrap probability of being best (seeds resampled per size; overconfident with
        few seeds, since two seeds resample to only three possible means).
    """

    problem: str
    budget: str
    budget_amount: float
    best: str | None
    runner_up: str | None
    margin: float
    confidence: float
    means: dict = field(default_factory=dict)
    n: dict = field(default_factory=dict)
    prob_best: dict = field(default_factory=dict)
    bootstrap: dict = field(default_factory=dict)


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


def bootstrap_ci(values, seed: int = 0, n_boot: int = 2000, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi): percentile bootstrap interval of the mean; one value gives (v, v, v)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return mean, float(lo), float(hi)


def _groups(rows, keys) -> dict:
    out = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def curves(rows, value: str = "score", seed: int = 0, n_boot: int = 2000) -> list[CurvePoint]:
    """Mean and bootstrap CI over seeds of `value` per (problem, mode, size, budget), sorted by budget."""
    points = []
    for (problem, mode, size, budget), group in sorted(
            _groups(rows, ("problem", "mode", "size", "budget")).items(),
            key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[1][0]["budget_amount"])):
        values = [r[value] for r in group if r.get(value) is not None and math.isfinite(r[value])]
        if not values:
            continue
        mean, lo, hi = bootstrap_ci(values, seed, n_boot)
        points.append(CurvePoint(problem, mode, size, budget, group[0]["budget_amount"], mean, lo, hi, len(values)))
    return points


def prob_best_bootstrap(samples: dict[str, list[float]], seed: int = 0, n_boot: int = 4000) -> dict[str, float]:
    """Probability that each key has the highest mean when every key's values are resampled (ties split)."""
    keys = sorted(samples)
    rng = np.random.default_rng(seed)
    means = np.empty((n_boot, len(keys)))
    for j, k in enumerate(keys):
        x = np.asarray(samples[k], dtype=float)
        means[:, j] = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    top = means.max(axis=1, keepdims=True)
    winners = (means == top).astype(float)
    share = (winners / winners.sum(axis=1, keepdims=True)).mean(axis=0)
    return {k: float(p) for k, p in zip(keys, share)}


def posterior_best(rows) -> dict[float, dict[str, float]]:
    """Per budget amount: size -> probability of having the highest mean score, from the posterior that
    drives adaptive sweeps (adaptive.fit_posterior: a Student-t per size and budget, the noise pooled over
    sizes and budgets, each run's checkpoints one curve). Rows: evolve rows of one problem."""
    from funsearch.study import adaptive

    budgets = sorted({r["budget_amount"] for r in rows})
    index = {b: j for j, b in enumerate(budgets)}
    by_run: dict[tuple, list] = {}
    for r in rows:
        curve = by_run.setdefault((r["size"], r["seed"], r.get("cell")), [None] * len(budgets))
        curve[index[r["budget_amount"]]] = float(r["score"])
    runs: dict[str, list] = {}
    for (size, _, _), curve in by_run.items():
        while curve and curve[-1] is None:
            curve.pop()
        if curve:
            runs.setdefault(size, []).append(curve)
    sizes = sorted(runs)
    p = adaptive.fit_posterior(runs, sizes, budgets).prob_best()
    return {b: {s: float(p[i, j]) for i, s in enumerate(sizes)} for j, b in enumerate(budgets)}


def best_sizes(rows, seed: int = 0, n_boot: int = 4000) -> list[Answer]:
    """The best evolving size at each (problem, budget), with margin, posterior confidence and the bootstrap's."""
    answers = []
    evolve = [r for r in rows if r["mode"] == EVOLVE and r.get("score") is not None]
    posteriors = {problem: posterior_best(group) for (problem,), group in _groups(evolve, ("problem",)).items()}
    for (problem, budget), group in sorted(_groups(evolve, ("problem", "budget")).items(),
                                           key=lambda kv: (kv[0][0], kv[1][0]["budget_amount"])):
        by_size = defaultdict(list)
        for r in group:
            by_size[r["size"]].append(float(r["score"]))
        means = {s: float(np.mean(v)) for s, v in by_size.items()}
        ranked = sorted(means, key=lambda s: (-means[s], s))
        if len(ranked) > 1:
            boot = prob_best_bootstrap(by_size, seed, n_boot)
            post = posteriors[problem][group[0]["budget_amount"]]
            total = sum(post.get(s, 0.0) for s in ranked) or 1.0
            probs = {s: post.get(s, 0.0) / total for s in ranked}  # the sizes observed at this budget
        else:
            boot = probs = {ranked[0]: 1.0}
        runner = ranked[1] if len(ranked) > 1 else None
        answers.append(Answer(problem, budget, group[0]["budget_amount"], ranked[0], runner,
                              means[ranked[0]] - means[runner] if runner else 0.0, probs[ranked[0]],
                              means, {s: len(v) for s, v in by_size.items()}, probs, boot))
    return answers


def improvement_per_cost(row: dict) -> float | None:
    """(score at the checkpoint - score of the seed program) per unit of modelled cost; None without cost."""
    cost, score, start = row.get("modelled_cost"), row.get("score"), row.get("baseline_score")
    if not cost or cost <= 0 or score is None or start is None:
        return None
    return (score - start) / cost


def saturating(x, a, c, alpha):
    """a - c * x ** -alpha: rises towards the asymptote a as x grows (c, alpha > 0)."""
    return a - c * np.power(x, -alpha)


def fit_saturating(budgets, scores) -> Fit | None:
    """Least-squares fit of s(b) = a - c (b/b_ref)^-alpha; None with fewer than 3 distinct budgets, with scores
    that do not change with the budget (nothing to fit: the curve's parameters would be arbitrary), or no fit."""
    from scipy.optimize import curve_fit

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
    roots = []
    for i in range(grid - 1):
        if ys[i] == 0:
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
            for root in _roots(lambda b: fa(b) - fb(b), lo, hi):
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
    """A saturating fit of score vs budget for each evolving size of `problem` (sizes that cannot be fitted left out)."""
    fits = {}
    for (size,), group in _groups([r for r in rows if r["problem"] == problem and r["mode"] == EVOLVE],
                                  ("size",)).items():
        fit = fit_saturating([r["budget_amount"] for r in group], [r["score"] for r in group])
        if fit is not None:
            fits[size] = fit
    return fits
