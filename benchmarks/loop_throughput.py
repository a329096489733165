"""Loop throughput at GPU rates on this CPU, against `funsearch plan`, in both registration modes; driver memory.

    python benchmarks/loop_throughput.py --source RUN_DIR [--samples 400] [--memory-samples 100000]

The engine is SIMULATED (funsearch/proposers/simulated.py): real completions replayed from RUN_DIR (a real
`funsearch run` of bin packing), each after the roofline latency of the size on an H100 at the engine's batch.
Evaluations are real: the sandbox judges every new program on bin packing (--split, default OR3: its 500-item
instances make evaluation, not this 2-core machine's driver, the bottleneck), with the cascade on.
Per case (size, batch) and mode (ordered, async), one run in this process with the default pipeline depth
and evaluators (orchestrator/sizing.py). Then the plan's balance (cost/planner.py) is computed from that run's
own inputs: E evaluators, e = mean seconds per evaluation, f = share of samples that reached evaluation, and
R = the engine's rate from the roofline at the run's mean prompt and completion tokens. It predicts throughput
min(R, C) with C = E / (f e), proposer utilisation T / R (engine capacity used) and evaluator utilisation
T / C. Measured beside it: samples per second of the loop, T_measured / R, evaluation busy time / (wall E),
and, for information, the simulated engine's mean occupancy (sequence-seconds / (wall * batch)).
Memory: a duplicate-heavy completions file (tests/data/bin_packing_completions.json, 10 texts: nearly every
sample is a copy, so evaluation costs nothing and the loop runs as fast as the driver can), async, the small
model at batch 64; the driver's RSS (this process) is sampled as the samples go by.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from funsearch.config import make_config
from funsearch.cost.hardware import load_hardware
from funsearch.cost.planner import balance
from funsearch.cost.roofline import sample_cost
from funsearch.orchestrator import run_search
from funsearch.weights.registry import resolve_model

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "bin_packing.py"
DUPLICATES = ROOT / "tests" / "data" / "bin_packing_completions.json"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def query(run_dir: Path, sql: str):
    con = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def meta(run_dir: Path, key: str):
    rows = query(run_dir, f"SELECT value FROM meta WHERE key = '{key}'")
    return json.loads(rows[0][0]) if rows else None


def one_run(out: Path, source: Path, size: str, batch: int, mode: str, samples: int, seed: int,
            split: str) -> dict:
    run_dir = out / f"{size}-b{batch}-{mode}"
    cfg = make_config(problem=str(PROBLEM), backend="simulated", simulated_from=str(source), model_sizes=size,
                      hardware="h100", engine_batch=batch, registration=mode, samples=samples, seed=seed,
                      heldout=False, split=split)
    run_search(cfg, run_dir, echo=lambda line: None)
    util = meta(run_dir, "utilisation")
    n, p_tok, c_tok = query(run_dir, "SELECT COUNT(*), AVG(prompt_tokens), AVG(completion_tokens) FROM samples")[0]
    evals, eval_s = query(run_dir, "SELECT COUNT(*), SUM(seconds) FROM evaluations WHERE sample_id >= 0")[0]
    stale = [r[0] for r in query(run_dir, "SELECT staleness FROM samples ORDER BY staleness")]
    wall, E = util["wall_seconds"], util["evaluator_count"]
    cost = sample_cost(resolve_model(size), load_hardware().get("h100"), round(p_tok), round(c_tok), batch=batch)
    R = batch / cost.seconds
    f, e = evals / n, (eval_s or 0.0) / max(evals, 1)
    plan = balance(R, E, e, f)
    T = n / wall
    stats = (meta(run_dir, "proposer_stats") or [{}])[0]
    return {"case": f"{size} b{batch}", "mode": mode, "samples": n, "wall": wall, "E": E,
            "in_flight": util["in_flight"], "e": e, "f": f, "R": R, "C": plan.evaluation_rate,
            "T_plan": plan.samples_per_second, "T": T, "ratio": T / plan.samples_per_second,
            "bound": "engine" if R <= plan.evaluation_rate else "evaluation",
            "prop_plan": plan.proposer_utilisation, "prop": T / R,
            "eval_plan": plan.evaluator_utilisation, "eval": eval_s / (wall * E),
            "occupancy": stats.get("sequence_seconds", 0.0) / (wall * batch),
            "stale_mean": sum(stale) / len(stale), "stale_p90": stale[int(0.9 * len(stale))]}


def memory_run(out: Path, samples: int, every: float) -> list[tuple[int, float, float]]:
    """(samples done, seconds, driver RSS MB) while a duplicate-heavy async run does `samples` samples."""
    run_dir = out / "memory"
    cfg = make_config(problem=str(PROBLEM), backend="simulated", simulated_from=str(DUPLICATES), hardware="h100",
                      engine_batch=64, in_flight=64, registration="async", samples=samples, seed=1, heldout=False,
                      checkpoint_every=5000)
    points: list[tuple[int, float, float]] = []
    done = threading.Event()
    t0 = time.monotonic()

    def sample() -> None:
        while not done.wait(every):
            try:
                n = query(run_dir, "SELECT COUNT(*) FROM samples")[0][0]
            except sqlite3.Error:
                continue
            points.append((n, time.monotonic() - t0, rss_mb()))

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    run_search(cfg, run_dir, echo=lambda line: None)
    done.set()
    watcher.join()
    points.append((samples, time.monotonic() - t0, rss_mb()))
    return points


def report(rows: list[dict]) -> None:
    if not rows:
        return
    print("\n| case | mode | bound | R (engine) | C (evaluation) | plan T | measured T | T / plan | proposer util "
          "plan / measured | evaluator util plan / measured | engine occupancy | staleness mean / p90 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['mode']} | {r['bound']} | {r['R']:.1f}/s | {r['C']:.1f}/s | {r['T_plan']:.2f}/s | "
              f"{r['T']:.2f}/s | {r['ratio']:.1%} | {r['prop_plan']:.1%} / {r['prop']:.1%} "
              f"({r['prop'] / r['prop_plan']:.2f}) | {r['eval_plan']:.1%} / {r['eval']:.1%} "
              f"({r['eval'] / r['eval_plan']:.2f}) | {r['occupancy']:.1%} | {r['stale_mean']:.2f} / "
              f"{r['stale_p90']} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, required=True, help="a run directory of real bin-packing completions")
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--cases", default="small:64,large:8", help="size:batch,... (the small model outruns evaluation; "
                                                             "the 7B at batch 8 does not)")
    ap.add_argument("--split", default="or3", help="bin packing split evaluated (or3: 500 items per instance, so "
                                                   "that evaluation, not this 2-core driver, is the bottleneck)")
    ap.add_argument("--memory-samples", type=int, default=100_000)
    ap.add_argument("--every", type=float, default=10.0)
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="funsearch-loop-"))
    rows = []
    for case in filter(None, args.cases.split(",")):
        size, batch = case.split(":")
        for mode in ("ordered", "async"):
            rows.append(one_run(out, args.source, size, int(batch), mode, args.samples, 11, args.split))
            r = rows[-1]
            print(f"{r['case']:>9} {r['mode']:>7}: {r['samples']} samples in {r['wall']:.1f} s, "
                  f"in flight {r['in_flight']}, E {r['E']}, e {r['e']:.3f} s, f {r['f']:.2f}", flush=True)
    report(rows)
    if args.memory_samples:
        points = memory_run(out, args.memory_samples, args.every)
        print(f"\ndriver memory over {args.memory_samples} samples (duplicate-heavy, async, small b64):")
        for n, t, mb in points[:: max(1, len(points) // 12)] + points[-1:]:
            print(f"  {n:>7} samples  {t:7.0f} s  RSS {mb:7.1f} MB")
        tenth = next((p for p in points if p[0] >= args.memory_samples // 10), points[0])
        print(f"RSS at {tenth[0]} samples {tenth[2]:.1f} MB, at {points[-1][0]}: {points[-1][2]:.1f} MB "
              f"(ratio {points[-1][2] / tenth[2]:.3f}); {points[-1][0] / points[-1][1]:.0f} samples/s")
    print(f"\nrun stores under {out}")


if __name__ == "__main__":
    main()
