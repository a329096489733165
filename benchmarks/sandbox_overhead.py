"""Per-evaluation overhead of the hardened fork server vs a plain subprocess vs an in-process call.

Run: python benchmarks/sandbox_overhead.py [--n 300] [--seconds 4] [--rounds 3] [--trace 300]
--trace N adds a per-step breakdown of N traced evaluations (FUNSEARCH_SANDBOX_TRACE: the server and the
child time each step; tracing itself adds a little to every step, and it runs on the Python path).
The fork server is measured on its two paths, alternating for --rounds rounds: the native fast path (the
default: the usual evaluation cycle in C) and the Python path (FUNSEARCH_SANDBOX_NATIVE=0).
Everything is measured in this one run on this machine; the ratios compare numbers from this run.
Targets (issue 4): <= 3 ms per evaluation, >= 5x faster than a plain subprocess, >= 400 evaluations/s
with two slots on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from funsearch.problem.evaluator import Evaluator, evaluate_in_process  # noqa: E402
from funsearch.problem.loader import load_problem  # noqa: E402

TOY = ROOT / "tests" / "fixtures" / "toy_problem.py"
TRIVIAL = "def priority(value: float, position: int) -> float:\n    return value\n"
SPLIT = "single"  # one instance of five numbers: the work is negligible, the overhead is what is measured

SUBPROCESS_CHILD = """
import importlib.util, json, sys
import numpy
spec = importlib.util.spec_from_file_location("toy", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
ns = vars(mod)
exec(compile(sys.argv[2], "<candidate>", "exec"), ns)
instances = json.loads(sys.stdin.read())
print(json.dumps([ns[sys.argv[3]](inst) for inst in instances]))
"""


def tree_cpu(root: int) -> float:
    """CPU seconds (self + reaped children) of a process tree, from /proc (clock ticks)."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                table[int(name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
            except (OSError, ValueError, IndexError):
                pass
    def inside(pid):
        while pid in table and pid > 1:
            if pid == root:
                return True
            pid = table[pid][0]
        return False
    return sum(ticks for pid, (_, ticks) in table.items() if inside(pid)) / os.sysconf("SC_CLK_TCK")


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:7.3f} ms   mean {statistics.fmean(xs) * 1e3:7.3f} ms"


# (label, clock, from, to): "h" harness, "s" server, "c" child marks; wall microseconds between them
_STEPS = [
    ("harness: check source, select, send", "h", "start", "sent"),
    ("pipe: harness -> server reads the request", "x", "h:sent", "s:request"),
    ("server: request -> command written to the spare", "s", "request", "cmd.sent"),
    ("child: waits for / reads the command", "x", "s:cmd.sent", "c:c.command"),
    ("child: load code + exec + driver + JSON", "c", "c.command", "c.ran"),
    ("child: flush, end line -> server sees it", "x", "c:c.ran", "s:child.end"),
    ("server: schedstat CPU + SIGKILL", "s", "child.end", "child.killed"),
    ("server: last-pid proof (or /proc scan)", "s", "child.killed", "alone"),
    ("server: reply frame", "s", "alone", "reply"),
    ("pipe: server -> harness reads the reply", "x", "s:reply", "h:received"),
    ("harness: decode + score", "h", "received", "end"),
    ("(after the reply) server: fork the next spare", "s", "spawn.pipes", "spawn.fork"),
    ("(after the reply) server: reap the child", "s", "spawn.fork", "finish.wait4"),
    ("(after the reply) server: drain, close, wipe tmp", "s", "finish.wait4", "finish.wipe"),
    ("(before the command) spare: hardening", "c", "c.start", "c.hardened"),
]


def trace_breakdown(problem, n: int) -> None:
    """Per-step medians from FUNSEARCH_SANDBOX_TRACE (wall microseconds; CPU and page faults per process)."""
    os.environ["FUNSEARCH_SANDBOX_TRACE"] = "1"
    try:
        ev = Evaluator(problem, slot=2)
    finally:
        del os.environ["FUNSEARCH_SANDBOX_TRACE"]
    rows: dict[str, list[float]] = {}
    with ev:
        for _ in range(20):
            ev.evaluate(TRIVIAL, split=SPLIT)
        prev_server: dict = {}
        for _ in range(n):
            t0 = time.perf_counter_ns()
            ev.evaluate(TRIVIAL, split=SPLIT)
            t1 = time.perf_counter_ns()
            head = ev._server.last_header
            server = {m[0]: m for m in head.get("trace", [])}
            child = {m[0]: m for m in head.get("trace_child", [])}
            marks = {"h:start": t0, "h:sent": head["harness"][0], "h:received": head["harness"][1], "h:end": t1}
            marks.update({f"s:{k}": v[1] for k, v in {**prev_server, **server}.items()})
            marks.update({f"c:{k}": v[1] for k, v in child.items()})
            for label, clock, a, b in _STEPS:
                a, b = (a, b) if clock == "x" else (f"{clock}:{a}", f"{clock}:{b}")
                if a in marks and b in marks:
                    rows.setdefault(label, []).append((marks[b] - marks[a]) / 1e3)
            rows.setdefault("total (harness wall)", []).append((t1 - t0) / 1e3)
            if child:
                first, last = head["trace_child"][0], head["trace_child"][-1]
                rows.setdefault("child page faults (fork -> end line)", []).append(float(last[3]))
                rows.setdefault("child CPU us at its first line (after fork)", []).append(first[2] / 1e3)
            steps = head.get("trace", [])
            if len(steps) > 1:
                rows.setdefault("server page faults per evaluation", []).append(float(steps[-1][3] - steps[0][3]))
            prev_server = {k: v for k, v in server.items() if k.startswith(("spawn", "finish"))}
    print(f"per-step breakdown of {n} traced evaluations on the Python path (tracing turns the C cycle off; "
          "medians; wall us unless named):")
    for label, values in rows.items():
        print(f"  {label:<52} {statistics.median(values):9.1f}")


def measure_path(problem, fast: bool, n: int, seconds: float) -> dict:
    """Sequential latency, CPU per evaluation and two-slot throughput of the fork server on one path."""
    os.environ["FUNSEARCH_SANDBOX_NATIVE"] = "1" if fast else "0"
    try:
        with Evaluator(problem, slot=0) as ev:
            on = sum(p.on for p in ev.protections)
            line = ev._server.fast_path()
            for _ in range(20):
                assert ev.evaluate(TRIVIAL, split=SPLIT).valid
            root = ev._server.proc.pid
            cpu0, own0 = tree_cpu(root), time.process_time()
            seq = timed(lambda: ev.evaluate(TRIVIAL, split=SPLIT), n)
            cpu_per_eval = (tree_cpu(root) - cpu0 + time.process_time() - own0) / n
            child_cpu = statistics.median(ev.evaluate(TRIVIAL, split=SPLIT).cpu_seconds for _ in range(50))
        counts = [0, 0]
        evaluators = [Evaluator(problem, slot=s) for s in (0, 1)]
        for ev in evaluators:
            for _ in range(5):
                ev.evaluate(TRIVIAL, split=SPLIT)
        stop = time.perf_counter() + seconds

        def worker(k: int) -> None:
            while time.perf_counter() < stop:
                assert evaluators[k].evaluate(TRIVIAL, split=SPLIT).valid
                counts[k] += 1
        start = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        for ev in evaluators:
            ev.close()
    finally:
        del os.environ["FUNSEARCH_SANDBOX_NATIVE"]
    return {"line": line, "on": on, "seq": seq, "cpu": cpu_per_eval, "child_cpu": child_cpu,
            "rate": sum(counts) / elapsed, "elapsed": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300, help="evaluations per sequential measurement")
    parser.add_argument("--subprocess-n", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each two-slot throughput run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of (fast path, Python path); figures are medians over rounds")
    parser.add_argument("--trace", type=int, default=0, help="also print a per-step breakdown of this many evaluations")
    args = parser.parse_args()
    problem = load_problem(TOY)
    instances = problem.load_split(SPLIT)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"python {sys.version.split()[0]}")

    direct = timed(lambda: evaluate_in_process(problem, TRIVIAL, split=SPLIT), args.n)
    print(f"in-process (unsandboxed) evaluate_in_process: {ms(direct)}")

    payload = json.dumps(instances)
    def plain():
        proc = subprocess.run([sys.executable, "-c", SUBPROCESS_CHILD, str(TOY), TRIVIAL, problem.run_name],
                              input=payload, capture_output=True, text=True, check=True)
        for inst, sol in zip(instances, json.loads(proc.stdout)):
            problem.score(inst, sol)
    plain_t = timed(plain, args.subprocess_n)
    print(f"plain `python -c` subprocess (numpy imported) per candidate: {ms(plain_t)}")

    runs: dict[str, list[dict]] = {"fast path": [], "Python path": []}
    for k in range(args.rounds):  # alternate, so that both paths see the same drift of this shared machine
        for label, fast in (("fast path", True), ("Python path", False)):
            m = measure_path(problem, fast, args.n, args.seconds)
            runs[label].append(m)
            print(f"round {k + 1}, {label} ({m['line']}; {m['on']} protections on): median "
                  f"{statistics.median(m['seq']) * 1e3:.3f} ms sequential, {m['cpu'] * 1e3:.2f} ms CPU per evaluation "
                  f"(harness + server + child), {m['rate']:.0f} evaluations/s with two slots")

    def med(label: str, key: str) -> float:
        if key == "seq":
            return statistics.median(statistics.median(m["seq"]) for m in runs[label])
        return statistics.median(m[key] for m in runs[label])
    print()
    print(f"medians over {args.rounds} rounds:")
    print(f"{'path':<12} {'latency ms':>10} {'overhead ms':>11} {'CPU/eval ms':>11} {'evals/s (2 slots)':>18}")
    direct_med = statistics.median(direct)
    for label in runs:
        print(f"{label:<12} {med(label, 'seq') * 1e3:10.3f} {(med(label, 'seq') - direct_med) * 1e3:11.3f} "
              f"{med(label, 'cpu') * 1e3:11.2f} {med(label, 'rate'):18.0f}")
    fast_seq, fast_rate = med("fast path", "seq"), med("fast path", "rate")
    fast_rates = [m["rate"] for m in runs["fast path"]]
    print()
    print("the default (fast path):")
    print(f"per-evaluation overhead of the fork server over in-process: {(fast_seq - direct_med) * 1e3:.3f} ms "
          "(target <= 3 ms)")
    print(f"fork server vs plain subprocess: {statistics.median(plain_t) / fast_seq:.1f}x faster (target >= 5x)")
    print(f"fork server vs in-process: {fast_seq / statistics.median(direct):.1f}x slower")
    print(f"evaluations/s, two slots in parallel: {fast_rate:.0f} (target >= 400); "
          f"best round {max(fast_rates):.0f}, worst {min(fast_rates):.0f}")
    fast_cpu = med("fast path", "cpu")
    print(f"total CPU per evaluation: {fast_cpu * 1e3:.2f} ms -> at most {2 / fast_cpu:.0f} evaluations/s "
          "on 2 idle cores")
    print(f"fast path vs Python path: latency x{med('Python path', 'seq') / fast_seq:.2f}, "
          f"CPU x{med('Python path', 'cpu') / fast_cpu:.2f}, throughput x{fast_rate / med('Python path', 'rate'):.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}  (other work on this machine inflates every figure)")
    if args.trace:
        print()
        trace_breakdown(problem, args.trace)


if __name__ == "__main__":
    main()
