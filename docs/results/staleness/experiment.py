"""Staleness versus pipeline depth, at equal sample count: the experiment behind docs/results/staleness/README.md.

    python docs/results/staleness/experiment.py --source RUN_DIR [--depths 1,8,64] [--seeds 0,1,2]
        [--samples 300] [--split or1] [--out docs/results/staleness]

Every run uses the SIMULATED engine (funsearch/proposers/simulated.py) replaying the real completions of RUN_DIR
(a `funsearch run` of the 0.5B model on bin packing), conditioned on the prompt's last parent: a prompt is
answered with a completion that the recorded run got for the same parent, so a stale prompt (an older parent)
gets what the model wrote for that older parent. Latencies: the 0.5B model on an H100 at batch 64 (roofline).
Evaluations are real (sandbox, bin packing, the chosen split). The only thing varied is `--in-flight` (prompts
drawn and not yet registered), with async registration (FunSearch's design); each depth runs the same seeds,
so sample k draws its completion with the same seed at every depth.
Writes results.json (per run: throughput, staleness distribution, best score after every sample, funnel) and
best_vs_samples.png into --out; the README there is written from them by hand.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from funsearch.config import make_config
from funsearch.orchestrator import run_search

ROOT = Path(__file__).resolve().parents[3]
PROBLEM = ROOT / "problems" / "bin_packing.py"


def rows(run_dir: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def best_curve(run_dir: Path, samples: int, baseline: float) -> list[float]:
    """Best registered score after each sample id (in sample order: equal sample counts across depths)."""
    found = dict(rows(run_dir, "SELECT sample_id, MAX(score) FROM programs WHERE sample_id >= 0 GROUP BY sample_id"))
    curve, best = [], baseline
    for k in range(samples):
        best = max(best, found.get(k, best))
        curve.append(best)
    return curve


def one(out: Path, source: Path, depth: int, seed: int, samples: int, split: str | None) -> dict:
    run_dir = out / f"depth{depth}-seed{seed}"
    cfg = make_config(problem=str(PROBLEM), backend="simulated", simulated_from=str(source), hardware="h100",
                      engine_batch=64, in_flight=depth, registration="async", samples=samples, seed=seed,
                      heldout=False, split=split)
    t0 = time.monotonic()
    run_search(cfg, run_dir, echo=lambda line: None)
    (util,) = [json.loads(v) for (v,) in rows(run_dir, "SELECT value FROM meta WHERE key = 'utilisation'")]
    (stats,) = [json.loads(v) for (v,) in rows(run_dir, "SELECT value FROM meta WHERE key = 'proposer_stats'")]
    stale = sorted(s for (s,) in rows(run_dir, "SELECT staleness FROM samples"))
    baseline = rows(run_dir, "SELECT score FROM evaluations WHERE sample_id = -1")[0][0]
    failures = dict(rows(run_dir, "SELECT COALESCE(failure, 'valid'), COUNT(*) FROM samples GROUP BY 1"))
    return {"depth": depth, "seed": seed, "samples": len(stale), "wall": util["wall_seconds"],
            "samples_per_second": util["samples_per_second"], "total_seconds": time.monotonic() - t0,
            "evaluators": util["evaluator_count"], "evaluator_utilisation": util["evaluators"],
            "peak_outstanding": util["peak_outstanding"],
            "staleness": {"mean": sum(stale) / len(stale), "p50": stale[len(stale) // 2],
                          "p90": stale[int(0.9 * len(stale))], "max": stale[-1],
                          "zero": sum(s == 0 for s in stale) / len(stale)},
            "conditioned": stats[0]["conditioned"] / max(1, stats[0]["requests"]),
            "baseline": baseline, "best": best_curve(run_dir, len(stale), baseline), "failures": failures}


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for depth in sorted({r["depth"] for r in results}):
        runs = [r for r in results if r["depth"] == depth]
        n = min(len(r["best"]) for r in runs)
        mean = [sum(r["best"][k] for r in runs) / len(runs) for k in range(n)]
        stale = sum(r["staleness"]["mean"] for r in runs) / len(runs)
        ax.plot(range(1, n + 1), mean, label=f"in flight {depth} (staleness {stale:.2f})")
    ax.set_xlabel("samples")
    ax.set_ylabel("best score (mean over seeds; -mean bins)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--depths", default="1,8,64")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--split", default=None)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="funsearch-staleness-"))
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for depth in (int(d) for d in args.depths.split(",")):
            r = one(work, args.source, depth, seed, args.samples, args.split)
            results.append(r)
            print(f"depth {depth:>3} seed {seed}: {r['samples_per_second']:.2f} samples/s, staleness mean "
                  f"{r['staleness']['mean']:.2f} p90 {r['staleness']['p90']}, best {r['best'][-1]:.6g}, "
                  f"conditioned {r['conditioned']:.0%}, {r['failures']}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {"source": str(args.source), "split": args.split, "samples": args.samples, "engine": "small, h100, batch 64",
           "registration": "async", "runs": results}
    (args.out / "results.json").write_text(json.dumps(doc, indent=1))
    plot(results, args.out / "best_vs_samples.png")
    print(f"wrote {args.out / 'results.json'}; run stores under {work}")


if __name__ == "__main__":
    main()
