"""Adaptive sweeps vs the full grid on simulated outcomes with a known answer.

Ground truth: a table of mean scores per (size, budget) shaped like saturating curves: small saturates early
at a low ceiling, mid later and higher, large later still, so the best size changes twice with the budget
(margins of 1 to 2 sigma at every budget).
One run of size s to budget index j (a new seed) gives its score at every budget <= j:
f_s(b) + sigma * (rho * z_run + sqrt(1 - rho^2) * z_b), i.e. seed-to-seed noise correlated along a run.

Grid: every size x SEEDS seeds, each to the largest budget (what `funsearch sweep` runs). Its answer and
confidence per budget come from the same Gaussian posterior the adaptive mode uses (funsearch/adaptive.py),
so both are judged by one yardstick; the grid's confidence (smallest over budgets) is the adaptive target.
Adaptive: initial design, then adaptive.choose_next until adaptive.should_stop(target = grid's confidence),
capped at 3x the grid's runs. Cost = sum over runs of the budget each run went to.

    python benchmarks/adaptive_vs_grid.py [--worlds 20] [--seeds 5] [--sigma 0.08]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from funsearch import adaptive

SIZES = ("small", "mid", "large")
BUDGETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
TRUTH = {"small": (0.60, 0.80, 0.90, 0.95, 0.97, 0.98),
         "mid": (0.45, 0.68, 0.98, 1.08, 1.13, 1.15),
         "large": (0.30, 0.55, 0.85, 1.00, 1.22, 1.30)}


def truth(size: str, b: float) -> float:
    return TRUTH[size][BUDGETS.index(b)]


def true_answer() -> list[str]:
    return [max(SIZES, key=lambda s: truth(s, b)) for b in BUDGETS]


def simulate_run(size: str, j: int, rng: np.random.Generator, sigma: float, rho: float) -> list[float]:
    z0 = rng.standard_normal()
    return [truth(size, b) + sigma * (rho * z0 + (1 - rho ** 2) ** 0.5 * rng.standard_normal())
            for b in BUDGETS[: j + 1]]


def add(obs: dict, size: str, scores: list[float]) -> None:
    for j, y in enumerate(scores):
        obs.setdefault((size, j), []).append(y)


def grid(rng, seeds: int, sigma: float, rho: float):
    obs: dict = {}
    for _ in range(seeds):
        for size in SIZES:
            add(obs, size, simulate_run(size, len(BUDGETS) - 1, rng, sigma, rho))
    post = adaptive.fit_posterior(obs, SIZES, BUDGETS)
    return post, len(SIZES) * seeds, len(SIZES) * seeds * BUDGETS[-1]


def run_adaptive(rng, target: float, max_runs: int, sigma: float, rho: float, grid_answer: list[str],
                 overhead: float = 0.0):
    obs: dict = {}
    runs, cost, reached_at = 0, 0.0, None
    plan = adaptive.initial_design(SIZES, BUDGETS)
    while True:
        for size, j in plan:
            add(obs, size, simulate_run(size, j, rng, sigma, rho))
            runs, cost = runs + 1, cost + BUDGETS[j]
        post = adaptive.fit_posterior(obs, SIZES, BUDGETS)
        answer = post.answer()
        if reached_at is None and [s for s, _ in answer] == grid_answer and post.confidence() >= target:
            reached_at = (runs, cost)
        reason = adaptive.should_stop(post, target, runs, max_runs)
        if reason:
            return post, runs, cost, reason, reached_at
        choice = adaptive.choose_next(post, overhead=overhead, target=target)
        plan = [(choice.size, choice.budget_index)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=20, help="simulated sweeps (noise seeds)")
    parser.add_argument("--seeds", type=int, default=5, help="grid seeds per size")
    parser.add_argument("--sigma", type=float, default=0.08, help="seed-to-seed noise of a run's score")
    parser.add_argument("--rho", type=float, default=0.7, help="correlation of a run's noise across budgets")
    parser.add_argument("--overheads", default="0,32", help="fixed cost per adaptive run (comma list): 0 chooses by "
                                                             "information per unit of budget; 32 (one full run) "
                                                             "by information per run")
    args = parser.parse_args()
    for overhead in (float(x) for x in args.overheads.split(",")):
        compare(args, overhead)
        print()


def compare(args, overhead: float) -> None:

    truth_answer = true_answer()
    print(f"sizes {SIZES}, budgets {BUDGETS}, sigma {args.sigma}, rho {args.rho}; adaptive run overhead {overhead:g}")
    print("true best size per budget: " + ", ".join(f"{b:g}: {s}" for b, s in zip(BUDGETS, truth_answer)))
    print(f"{'world':>5} | {'grid runs':>9} {'cost':>6} {'conf':>5} {'=truth':>6} | {'adapt runs':>10} {'cost':>6} "
          f"{'conf':>5} {'=grid':>5} {'=truth':>6} {'stop':>10} | reached grid at (runs, cost)")
    rows = []
    start = time.perf_counter()
    for w in range(args.worlds):
        rng = np.random.default_rng(1000 + w)
        g_post, g_runs, g_cost = grid(rng, args.seeds, args.sigma, args.rho)
        g_answer = [s for s, _ in g_post.answer()]
        target = min(g_post.confidence(), 0.999)
        a_post, a_runs, a_cost, reason, reached = run_adaptive(
            np.random.default_rng(2000 + w), target, 3 * g_runs, args.sigma, args.rho, g_answer, overhead)
        a_answer = [s for s, _ in a_post.answer()]
        rows.append((g_runs, g_cost, g_post.confidence(), g_answer == truth_answer, a_runs, a_cost,
                     a_post.confidence(), a_answer == g_answer, a_answer == truth_answer, reason, reached))
        print(f"{w:>5} | {g_runs:>9} {g_cost:>6.0f} {g_post.confidence():>5.2f} {str(g_answer == truth_answer):>6} | "
              f"{a_runs:>10} {a_cost:>6.0f} {a_post.confidence():>5.2f} {str(a_answer == g_answer):>5} "
              f"{str(a_answer == truth_answer):>6} {reason:>10} | {reached}")
    mean = lambda k: statistics.mean(r[k] for r in rows)  # noqa: E731
    reached = [r[10] for r in rows if r[10] is not None]
    print()
    print(f"grid:     {mean(0):.1f} runs, cost {mean(1):.0f}, confidence {mean(2):.3f}, "
          f"answer = truth in {sum(r[3] for r in rows)}/{len(rows)} worlds")
    print(f"adaptive: {mean(4):.1f} runs, cost {mean(5):.0f}, confidence {mean(6):.3f}, "
          f"answer = grid's in {sum(r[7] for r in rows)}/{len(rows)}, = truth in {sum(r[8] for r in rows)}/{len(rows)}; "
          f"stopped confident in {sum(r[9] == 'confident' for r in rows)}/{len(rows)}")
    if reached:
        print(f"adaptive first matched the grid's answer at the grid's confidence after "
              f"{statistics.mean(r[0] for r in reached):.1f} runs, cost {statistics.mean(r[1] for r in reached):.0f} "
              f"(median runs {statistics.median(r[0] for r in reached):.0f}) in {len(reached)}/{len(rows)} worlds")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
