"""`funsearch sweep --adaptive`: per problem, give the next seed to the size adaptive.choose_next picks.

Every adaptive run is an evolve cell to the largest budget, so it is the very cell a grid would run with that
seed (same key, same directory): evolve cells already finished in SWEEP_DIR (an earlier grid, say) count as
observations, and a later grid run reuses the adaptive ones. Each size first gets adaptive.MIN_RUNS runs
(chosen without data, so they run together under --parallel); then one run at a time, until the best size
at every budget has the experiment's target_confidence or the problem has max_adaptive_runs evolve runs.

Resume: SWEEP_DIR/adaptive.json records every choice (size, seed, reason, gain, confidence before) before
its run starts; a restarted sweep runs the recorded cells first (finished ones are skipped), then goes on
choosing from the data. A run that fails (a Ray task error) stops the problem's loop; re-running retries it.
Observations come from the cells' compact summaries (folder.py): a fresh clone of a committed folder resumes
without the run stores.
"""
from __future__ import annotations

import json
from pathlib import Path

from funsearch.study import adaptive
from funsearch.study.cells import Cell, expand


def next_seed(used: set[int], seeds) -> int:
    """The first of the experiment's seeds not used yet, then the integers after the largest (pure)."""
    for seed in seeds:
        if seed not in used:
            return seed
    seed = max(seeds) + 1
    while seed in used:
        seed += 1
    return seed


def minimum_runs(counts: dict[str, int], sizes, room: int) -> list[str]:
    """The sizes still short of adaptive.MIN_RUNS runs, round-robin, at most `room` of them (pure)."""
    out, counts = [], dict(counts)
    for _ in range(adaptive.MIN_RUNS):
        for size in sizes:
            if counts[size] < adaptive.MIN_RUNS and len(out) < room:
                out.append(size)
                counts[size] += 1
    return out


def run_adaptive(sweep) -> None:
    """Run the baselines of the grid, then each problem's adaptive evolve runs (see the module docstring)."""
    exp = sweep.exp
    sweep.run_cells([c for c in expand(exp) if c.mode != "evolve"])
    plan_path = sweep.dir / "adaptive.json"
    plan = json.loads(plan_path.read_text()) if plan_path.exists() else {}
    last = len(exp.budgets) - 1
    cap = exp.max_adaptive_runs or len(exp.sizes) * len(exp.seeds)
    for problem in exp.problems:
        name = Path(problem).stem
        steps = plan.setdefault(problem, [])
        sweep.run_cells([Cell(problem, s["size"], "evolve", s["seed"], s.get("budget_index", last), last)
                         for s in steps])
        while True:
            evolve = [c for c in sweep.cells() if c.problem == problem and c.mode == "evolve" and c.size in exp.sizes]
            done = [c for c in evolve if sweep.status(c) == "finished"]
            rows = [r for c in done for r in sweep.cell_rows(c)]
            post = adaptive.fit_posterior(adaptive.run_curves(rows, exp.budgets), exp.sizes, exp.budget_amounts)
            answer = ", ".join(f"{b}: {s} ({p:.2f})" for b, (s, p) in zip(exp.budgets, post.answer()))
            runs = ", ".join(f"{s} {int(n)}" for s, n in zip(exp.sizes, post.runs))
            reason = adaptive.should_stop(post, exp.target_confidence, cap)
            if reason:
                sweep.echo(f"adaptive {name}: stopped ({reason}) after {len(done)} runs ({runs}); {answer}")
                break
            counts = {s: int(n) for s, n in zip(exp.sizes, post.runs)}
            chosen = minimum_runs(counts, exp.sizes, max(1, cap - len(done)))
            if chosen:
                choices = [(size, "minimum", None) for size in chosen]
            else:
                choice = adaptive.choose_next(post, target=exp.target_confidence)
                choices = [(choice.size, choice.reason, round(choice.gain, 6))]
                sweep.echo(f"adaptive {name}: confidence {post.confidence():.2f} ({runs} runs) [{answer}]; next "
                           f"{choice.size} (expected gain {choice.gain:.3f} bits)")
            batch = []
            for size, why, gain in choices:
                used = {c.seed for c in evolve + batch if c.size == size}
                cell = Cell(problem, size, "evolve", next_seed(used, exp.seeds), last, last)
                batch.append(cell)
                steps.append({"size": size, "seed": cell.seed, "reason": why, "gain": gain,
                              "confidence_before": round(post.confidence(), 6)})
            plan_path.write_text(json.dumps(plan, indent=2))
            sweep.run_cells(batch)
            failed = [c.key for c in batch if sweep.status(c) != "finished"]
            if failed:                        # a failed run would be chosen again and again: stop instead
                sweep.echo(f"adaptive {name}: stopped: {', '.join(failed)} did not finish (run again to retry)")
                break
