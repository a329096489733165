"""Memory over a long run: RSS of the driver and of the Ray actors while a scripted run does N samples.

    python benchmarks/run_memory.py [--samples 100000] [--every 5]

Runs `funsearch run problems/bin_packing.py --backend scripted` in a subprocess (completions cycle through
tests/data/bin_packing_completions.json, so most samples are duplicates: the loop, the store and the database
are exercised at full speed) and prints, every few seconds, samples done and RSS of the driver and of the
Ray worker processes (actors). Flat memory means the last rows match the early ones, not growing with samples.
"""
from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from funsearch.sandbox.proctree import cmdline_starts_with, descendants

ROOT = Path(__file__).resolve().parent.parent


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def ray_workers(root: int) -> list[int]:
    """The run's actor processes (cmdline "ray::..."), descendants of the driver."""
    return [pid for pid in descendants(root) if cmdline_starts_with(pid, b"ray::")]


def samples_done(out: Path) -> int:
    for db in out.glob("*/run.sqlite"):
        try:
            con = sqlite3.connect(db, timeout=1)
            n = con.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
            con.close()
            return n
        except sqlite3.OperationalError:
            return 0
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--every", type=float, default=5.0)
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="funsearch-memory-"))
    cmd = [sys.executable, "-m", "funsearch", "run", str(ROOT / "problems" / "bin_packing.py"), "--backend",
           "scripted", "--scripted", str(ROOT / "tests" / "data" / "bin_packing_completions.json"),
           "--samples", str(args.samples), "--islands", "10", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    rows = []
    print(f"{'seconds':>8} {'samples':>8} {'driver MB':>10} {'actors MB':>10} {'actors':>7}")
    while proc.poll() is None:
        time.sleep(args.every)
        workers = ray_workers(proc.pid)
        if proc.poll() is not None:
            break
        row = (time.monotonic() - start, samples_done(out), rss_kb(proc.pid) / 1024,
               sum(rss_kb(p) for p in workers) / 1024, len(workers))
        rows.append(row)
        print(f"{row[0]:8.0f} {row[1]:8d} {row[2]:10.1f} {row[3]:10.1f} {row[4]:7d}", flush=True)
    print(f"exit code {proc.returncode}; run store under {out}")
    steady = [r for r in rows[:-1] if r[1] >= args.samples * 0.1]  # the last row may catch the shutdown
    if len(steady) >= 2:
        first, last = steady[0], steady[-1]
        per_10k = 10_000 / max(last[1] - first[1], 1)
        print(f"driver growth: {(last[2] - first[2]) * per_10k:+.1f} MB per 10k samples "
              f"({first[2]:.0f} -> {last[2]:.0f} MB from sample {first[1]} to {last[1]})")
        print(f"actor growth:  {(last[3] - first[3]) * per_10k:+.1f} MB per 10k samples "
              f"({first[3]:.0f} -> {last[3]:.0f} MB)")
        print(f"throughput: {(last[1] - first[1]) / max(last[0] - first[0], 1e-9):.0f} samples/s")


if __name__ == "__main__":
    main()
