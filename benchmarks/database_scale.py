"""Per-call time of ProgramDatabase.sample() and .register() against island and program count.

Worst case for the cluster softmax: every program has its own score signature, so an island
holds as many clusters as programs. The database is filled to N programs (resets disabled, so
the islands really hold N), then S rounds of the orchestrator's pattern run: sample a prompt,
register a new program on its island. Hashes and lengths are passed in precomputed, as the
orchestrator does after `lookup`; one extra line shows register() when it must hash the source.

Usage: python benchmarks/database_scale.py [--rounds S] [--programs 1000,10000,100000] [--islands 1,10,30]
"""
from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time

from funsearch.search.database import DatabaseConfig, ProgramDatabase

LIMIT_MS = 1.0


def fill(islands: int, programs: int, seed: int = 0) -> tuple[ProgramDatabase, random.Random]:
    db = ProgramDatabase(DatabaseConfig(islands=islands, reset_period=10**12), seed)
    rng = random.Random(seed)
    db.register("def priority(item, bins):\n    return -bins\n", (0.0, 0.0), 0.0)
    for n in range(programs - 1):
        _register(db, rng, n, n % islands)
    return db, rng


def _register(db: ProgramDatabase, rng: random.Random, n: int, island: int):
    a, b = rng.random(), rng.random()
    return db.register(f"# program {n}", (a, b), (a + b) / 2, island,
                       program_hash=hashlib.sha256(str(n).encode()).hexdigest(), length=rng.randrange(200, 2000))


def measure(islands: int, programs: int, rounds: int) -> dict[str, list[float]]:
    db, rng = fill(islands, programs)
    times: dict[str, list[float]] = {"sample": [], "register": []}
    for n in range(rounds):
        t0 = time.perf_counter_ns()
        request = db.sample()
        t1 = time.perf_counter_ns()
        _register(db, rng, programs + n, request.island)
        t2 = time.perf_counter_ns()
        times["sample"].append((t1 - t0) / 1e6)
        times["register"].append((t2 - t1) / 1e6)
    return times


def hashing_register_ms(rounds: int = 500) -> float:
    db = ProgramDatabase(DatabaseConfig(islands=10), 0)
    sources = [f"def priority(item, bins):\n    gap = bins - item\n    return -gap * {n} + np.sqrt(gap)\n"
               for n in range(rounds)]
    t0 = time.perf_counter_ns()
    for n, source in enumerate(sources):
        db.register(source, (float(n),), float(n), n % 10)
    return (time.perf_counter_ns() - t0) / 1e6 / rounds


def row(name: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"{name:>8} mean {statistics.fmean(ms):7.4f} ms  p99 {p99:7.4f}  max {max(ms):7.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--programs", default="1000,10000,100000")
    parser.add_argument("--islands", default="1,10,30")
    args = parser.parse_args()
    worst = {"sample": 0.0, "register": 0.0}
    for islands in map(int, args.islands.split(",")):
        for programs in map(int, args.programs.split(",")):
            times = measure(islands, programs, args.rounds)
            print(f"islands={islands:<3} programs={programs:<7} clusters/island~{programs // islands:<7}")
            for name, ms in times.items():
                print("  " + row(name, ms))
                worst[name] = max(worst[name], statistics.fmean(ms))
    print(f"register() hashing the source itself (ast parse + unparse): {hashing_register_ms():.4f} ms per call")
    ok = all(v <= LIMIT_MS for v in worst.values())
    print(f"{'PASS' if ok else 'FAIL'}: worst mean sample() {worst['sample']:.4f} ms, "
          f"register() {worst['register']:.4f} ms (limit {LIMIT_MS} ms per call)")


if __name__ == "__main__":
    main()
