"""Two sweep lanes with one llama.cpp thread each, or one lane with two threads: which does more per hour here?

A sweep cell is one `funsearch run`; `funsearch sweep --parallel 2` runs two at a time (each with the
experiment's `threads`). This runs real 0.5B runs on bin packing OR1 in both shapes, alternating them over
rounds, and prints samples and completion tokens per wall-second of each shape (model loading, prompts,
evaluation: everything a cell pays), with their ratio per round. Nothing else should run on the machine.

    python benchmarks/sweep_lanes.py [--samples 24] [--rounds 2] [--size small]
"""
from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start(out: Path, seed: int, threads: int, size: str, samples: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "funsearch", "run", str(ROOT / "problems" / "bin_packing.py"),
                             "--model-size", size, "--samples", str(samples), "--seed", str(seed),
                             "--threads", str(threads), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def totals(out: Path) -> tuple[int, int]:
    """(samples, completion tokens) over every run store under `out`."""
    samples = tokens = 0
    for store in out.rglob("run.sqlite"):
        db = sqlite3.connect(store)
        n, t = db.execute("SELECT COUNT(*), COALESCE(SUM(completion_tokens), 0) FROM samples").fetchone()
        db.close()
        samples, tokens = samples + n, tokens + t
    return samples, tokens


def shape(lanes: int, threads: int, seed: int, size: str, samples: int) -> tuple[float, float]:
    """(samples/s, completion tokens/s) of `lanes` runs at once with `threads` each."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        procs = [start(out / f"lane{k}", seed + k, threads, size, samples) for k in range(lanes)]
        for p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"a run failed (exit {p.returncode}): {err.strip().splitlines()[-1:]}")
        wall = time.perf_counter() - t0
        n, tokens = totals(out)
    return n / wall, tokens / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=24, help="samples per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", default="small")
    args = parser.parse_args()
    print("round | 2 lanes x 1 thread: samples/s, tokens/s | 1 lane x 2 threads: samples/s, tokens/s "
          "| ratio (tokens/s)")
    for r in range(args.rounds):
        order = [(2, 1), (1, 2)] if r % 2 == 0 else [(1, 2), (2, 1)]  # alternate which shape goes first
        got = {lanes: shape(lanes, threads, 100 + 10 * r, args.size, args.samples) for lanes, threads in order}
        (s2, t2), (s1, t1) = got[2], got[1]
        print(f"{r} | {s2:.2f}, {t2:.1f} | {s1:.2f}, {t1:.1f} | {t2 / t1:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
