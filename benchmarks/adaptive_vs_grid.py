"""Adaptive sweeps vs the full grid on simulated outcomes with a known answer.

Worlds: a table of true mean scores per (size, budget), shaped like saturating curves, of one of four types:
  clear      mid is best at every budget by >= 2.5 sigma (a mis-sized study: the other sizes are dominated)
  two-way    small wins low budgets, mid high ones, large is dominated (too slow for these budgets)
  crossover  the best size changes twice (small, then mid, then large) by 1 to 2 sigma
  near-tie   mid and large within 0.25 sigma at every budget, small dominated
A run is one seed of one size to the largest budget; its curve is f_s(b) + sigma * (rho * z_run + sqrt(1 -
rho^2) * z_b), seed-to-seed noise correlated along the run. Same noise for both: run k of size s in world w is
the same curve whichever mode asks for it (the grid uses seeds 0..G-1 of every size; adaptive asks for seeds
0, 1, 2, ... of the sizes it picks), and both are judged by the same posterior (funsearch/study/adaptive.py).

Protocol A (the grid's answer at the grid's confidence): grid = G seeds x sizes; its confidence C (the smallest
over budgets of P(best size)) is the adaptive target; adaptive picks sizes until it reaches C (cap 3x the
grid's runs). Protocol B (both stop at one fixed target): the grid adds a seed to every size per round, the
adaptive one run at a time, until the confidence reaches T (cap 40 runs). Reported per type: mean runs,
cost (sum of budgets run; every run goes to the largest), confidence, and how often the answer (the best size
at every budget) equals the grid's answer, the truth, and per budget (share of budgets equal to the truth).

    python benchmarks/adaptive_vs_grid.py [--worlds 20] [--seeds 5] [--sigma 0.08] [--target 0.9]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from funsearch.study import adaptive

SIZES = ("small", "mid", "large")
BUDGETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
WORLDS = {  # true mean score per budget; sigma 0.08 by default
    "clear": {"small": (0.40, 0.55, 0.65, 0.72, 0.76, 0.78),
              "mid": (0.60, 0.78, 0.90, 0.98, 1.03, 1.06),
              "large": (0.30, 0.50, 0.68, 0.80, 0.85, 0.88)},
    "two-way": {"small": (0.60, 0.80, 0.90, 0.95, 0.97, 0.98),
                "mid": (0.45, 0.68, 0.84, 1.03, 1.10, 1.15),
                "large": (0.20, 0.35, 0.50, 0.62, 0.70, 0.78)},
    "crossover": {"small": (0.60, 0.80, 0.90, 0.95, 0.97, 0.98),
                  "mid": (0.45, 0.68, 0.98, 1.08, 1.13, 1.15),
                  "large": (0.30, 0.55, 0.85, 1.00, 1.22, 1.30)},
    "near-tie": {"small": (0.30, 0.40, 0.50, 0.55, 0.60, 0.62),
                 "mid": (0.60, 0.78, 0.90, 0.98, 1.03, 1.06),
                 "large": (0.58, 0.77, 0.92, 0.99, 1.01, 1.07)},
}


class World:
    """True means and a bank of run curves: run k of size s is drawn from its own seeded stream."""

    def __init__(self, kind: str, index: int, sigma: float, rho: float):
        self.kind, self.table, self.sigma, self.rho = kind, WORLDS[kind], sigma, rho
        self.seed = (list(WORLDS).index(kind), index)
        self.truth = [max(SIZES, key=lambda s: self.table[s][j]) for j in range(len(BUDGETS))]

    def run(self, size: str, k: int) -> list[float]:
        rng = np.random.default_rng((*self.seed, SIZES.index(size), k))
        z0, z = rng.standard_normal(), rng.standard_normal(len(BUDGETS))
        noise = self.sigma * (self.rho * z0 + (1 - self.rho ** 2) ** 0.5 * z)
        return list(np.asarray(self.table[size]) + noise)


def judge(world: World, counts: dict[str, int]) -> adaptive.Posterior:
    return adaptive.fit_posterior({s: [world.run(s, k) for k in range(n)] for s, n in counts.items()},
                                  SIZES, BUDGETS)


def grid(world: World, seeds: int):
    counts = dict.fromkeys(SIZES, seeds)
    return judge(world, counts), counts


def grid_until(world: World, target: float, cap: int):
    """Grid rounds (one more seed for every size) until the confidence reaches target."""
    seeds = adaptive.MIN_RUNS
    while True:
        post, counts = grid(world, seeds)
        if post.confidence() >= target or (seeds + 1) * len(SIZES) > cap:
            return post, counts
        seeds += 1


def run_adaptive(world: World, target: float, cap: int):
    counts = dict.fromkeys(SIZES, 0)
    while True:
        post = judge(world, counts)
        if adaptive.should_stop(post, target, cap):
            return post, counts
        counts[adaptive.choose_next(post, target=target).size] += 1


def outcome(world: World, post: adaptive.Posterior, counts: dict, reference: list[str] | None = None) -> dict:
    answer = [s for s, _ in post.answer()]
    return {"runs": sum(counts.values()), "cost": sum(counts.values()) * BUDGETS[-1], "conf": post.confidence(),
            "truth": answer == world.truth, "per_budget": np.mean([a == t for a, t in zip(answer, world.truth)]),
            "grid": None if reference is None else answer == reference, "answer": answer, "counts": counts}


def summary(name: str, rows: list[dict]) -> str:
    m = lambda k: statistics.mean(r[k] for r in rows)  # noqa: E731
    agree = f"{sum(r['grid'] for r in rows):>2}/{len(rows)}" if rows[0]["grid"] is not None else "    -"
    return (f"  {name:<9} {m('runs'):>5.1f} {m('cost'):>6.0f} {m('conf'):>5.2f} {agree:>6} "
            f"{sum(r['truth'] for r in rows):>2}/{len(rows)} {m('per_budget'):>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=20, help="simulated sweeps per world type")
    parser.add_argument("--seeds", type=int, default=5, help="grid seeds per size (protocol A)")
    parser.add_argument("--sigma", type=float, default=0.08, help="seed-to-seed noise of a run's score")
    parser.add_argument("--rho", type=float, default=0.7, help="correlation of a run's noise across budgets")
    parser.add_argument("--target", type=float, default=0.9, help="fixed target confidence (protocol B)")
    parser.add_argument("--types", default=",".join(WORLDS), help="world types (comma list)")
    args = parser.parse_args()
    start = time.perf_counter()
    header = f"  {'':<9} {'runs':>5} {'cost':>6} {'conf':>5} {'=grid':>6} {'=truth':>5} {'budgets':>7}"
    print(f"sizes {SIZES}, budgets {BUDGETS}, sigma {args.sigma}, rho {args.rho}, {args.worlds} worlds per type")
    all_a: dict[str, list] = {"grid": [], "adaptive": []}
    for kind in args.types.split(","):
        a_rows, b_rows = {"grid": [], "adaptive": []}, {"grid": [], "adaptive": []}
        for w in range(args.worlds):
            world = World(kind, w, args.sigma, args.rho)
            g_post, g_counts = grid(world, args.seeds)
            g = outcome(world, g_post, g_counts)
            target = min(g["conf"], 0.999)
            a_post, a_counts = run_adaptive(world, target, 3 * g["runs"])
            a_rows["grid"].append(g)
            a_rows["adaptive"].append(outcome(world, a_post, a_counts, g["answer"]))
            gb_post, gb_counts = grid_until(world, args.target, 40)
            ab_post, ab_counts = run_adaptive(world, args.target, 40)
            b_rows["grid"].append(outcome(world, gb_post, gb_counts))
            b_rows["adaptive"].append(outcome(world, ab_post, ab_counts, [s for s, _ in gb_post.answer()]))
        print(f"\n{kind}: truth " + ", ".join(f"{b:g}: {s}" for b, s in zip(BUDGETS, World(kind, 0, 0, 0).truth)))
        print(f" A: grid {args.seeds} seeds x {len(SIZES)} sizes, adaptive to the grid's confidence\n" + header)
        for mode in ("grid", "adaptive"):
            print(summary(mode, a_rows[mode]))
            all_a[mode] += a_rows[mode]
        mean_counts = {s: statistics.mean(r["counts"][s] for r in a_rows["adaptive"]) for s in SIZES}
        print("  adaptive runs per size: " + ", ".join(f"{s} {v:.1f}" for s, v in mean_counts.items()))
        print(f" B: both until confidence {args.target} (cap 40 runs); =grid: same answer as the sequential grid\n"
              + header)
        for mode in ("grid", "adaptive"):
            print(summary(mode, b_rows[mode]))
    print(f"\nall types, protocol A\n{header}")
    for mode in ("grid", "adaptive"):
        print(summary(mode, all_a[mode]))
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
