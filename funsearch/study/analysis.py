"""Pure analysis of a sweep's results rows: bootstrap CIs over seeds, the best size per budget.

Input rows are dicts as in SWEEP_DIR/results.csv (typed): problem, size, mode, seed, budget (text),
budget_amount, score (higher is better), metric, baseline_score, modelled_cost, ... One row per
(run, budget checkpoint). No I/O; randomness only from the `seed` arguments.

* `curves`: mean and 95 % bootstrap CI over seeds of a field, per (problem, mode, size, budget).
* `best_sizes`: the answer: per (problem, budget) the size with the best mean score among the
  evolving runs, its margin over the runner-up and the posterior probability that it is best (adaptive.py's
  posterior, the one the adaptive sweep chooses by) beside the bootstrap's.
Curve fits and crossovers live in fitting.py.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from funsearch.study import adaptive

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
      runner_up: the best size whose mean is below `best`'s (sizes tied with `best` are not runners-up; None
        with one size or when every size ties).
      margin: best mean minus runner-up mean (score units; 0 without a runner-up).
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
    budgets = sorted({r["budget_amount"] for r in rows})
    runs = adaptive.run_curves(rows, budgets, key="budget_amount")
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
        runner = next((s for s in ranked if means[s] < means[ranked[0]]), None)
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
