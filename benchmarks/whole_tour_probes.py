"""Mechanisms tried for the whole-tour TSP (problems/tsp.py) and not kept: one-line edits, repair prompts, FIM.

    python benchmarks/whole_tour_probes.py line --samples 30 [--model-size small] [--seed 0]
    python benchmarks/whole_tour_probes.py repair --run RUN_DIR [--tries 2] [--model-size small]
    python benchmarks/whole_tour_probes.py fim --samples 8 [--model-size small]

Small (0.5B) with forced divergence fails 60-64 % of its whole-tour samples (docs/search-yield.md). Two ideas to
turn failures into programs, probed outside the loop with the real model and the real sandbox:

- `line`: the model rewrites ONE body line of nearest neighbour, the rest of the parent is kept verbatim after it
  (a local mutation: the prompt is the classic listing, then `build_tour_v1` written up to a random line; the
  completion stops at the end of that line).
- `fim`: whether fill-in-the-middle could show the model the kept lines after the hole: the prompt is Qwen's
  `<|fim_prefix|>` nearest neighbour up to its `nearest = ...` line `<|fim_suffix|>` the rest `<|fim_middle|>`;
  a completion that writes a new `def` or the suffix's lines again has ignored the suffix.
- `repair`: each failed program of a run (bad output or runtime error; from its run.sqlite) is shown as
  `build_tour_v0` with its failure message as a comment, and the model writes `build_tour_v1`, "Fixed version".

Each outcome is classified as the loop would: a copy of the parent's line, a failure class, a program that scores
exactly as the seed (a no-op), or a valid program with another score. Prints one line per attempt and the counts.
"""
from __future__ import annotations

import argparse
import collections
import random
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from funsearch.problem.evaluator import Evaluator  # noqa: E402
from funsearch.problem.loader import load_problem  # noqa: E402
from funsearch.program.canonical import rename_function  # noqa: E402
from funsearch.program.extract import extract_function  # noqa: E402
from funsearch.program.prompt import PromptView, completion_header, listing, stop_sequences  # noqa: E402
from funsearch.program.strategies import body_lines  # noqa: E402
from funsearch.sandbox.limits import SandboxLimits  # noqa: E402
from funsearch.weights.files import ensure_model_file  # noqa: E402
from funsearch.weights.registry import load_registry  # noqa: E402

PROBLEM = ROOT / "problems" / "tsp.py"


def load_model(size: str, seed: int):
    from llama_cpp import Llama
    path = ensure_model_file(load_registry()[size])
    return Llama(model_path=str(path), n_ctx=4096, n_threads=1, verbose=False, seed=seed)


def classify(evaluator, problem, source: str | None, seed_score: float) -> tuple[str, str]:
    """(outcome, detail) for a candidate function's source, as the loop's funnel counts it."""
    if source is None:
        return "no_code", ""
    result = evaluator.evaluate(source, split=problem.train_split)
    if not result.valid:
        return result.failure.value, result.message[:80]
    if abs(result.score - seed_score) < 1e-9:
        return "no-op (scores as the seed)", f"{result.score:.4f}"
    return "valid, another score", f"{result.score:.4f}"


def probe_line(llm, problem, evaluator, seed_score: float, samples: int, seed: int) -> collections.Counter:
    view = PromptView(problem.preamble, problem.function_name, problem.signature, problem.docstring)
    name = f"{problem.function_name}_v1"
    body = body_lines(rename_function(problem.baseline_source, problem.function_name, name), name)
    starts = [i for i, line in enumerate(body) if line.strip() and not line.lstrip().startswith("#")]
    rng, counts = random.Random(seed), collections.Counter()
    for sample in range(samples):
        at = rng.choice(starts)
        indent = body[at][: len(body[at]) - len(body[at].lstrip())]
        head = completion_header(view, 1) + "".join(line + "\n" for line in body[:at])
        prompt = listing(view, [problem.baseline_source]) + "\n\n\n" + head + indent
        out = llm(prompt, max_tokens=60, temperature=1.0, top_p=0.95, seed=seed * 1000 + sample, stop=["\n"])
        line = indent + out["choices"][0]["text"].strip()
        if line.strip() == body[at].strip():
            outcome, detail = "copy of the line", ""
        else:
            text = head + line + "\n" + "".join(rest + "\n" for rest in body[at + 1:])
            got = extract_function(text, problem.function_name, problem.parameters, version=1)
            outcome, detail = classify(evaluator, problem, got.source, seed_score)
        counts[outcome] += 1
        print(f"line {at}: {outcome} {detail} | {line.strip()!r}", flush=True)
    return counts


def probe_repair(llm, problem, evaluator, seed_score: float, run_dir: Path, tries: int) -> collections.Counter:
    store = run_dir / "run.sqlite"
    if not store.is_file():
        raise SystemExit(f"no run.sqlite in {run_dir}")
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT id, source, message FROM samples WHERE failure IN ('bad_output', 'runtime_error')"
                           " AND source IS NOT NULL ORDER BY id").fetchall()
    view = PromptView(problem.preamble, problem.function_name, problem.signature, problem.docstring)
    fname = problem.function_name
    header = f"def {fname}_v1{problem.signature}:\n    \"\"\"Fixed version of `{fname}_v0`.\"\"\"\n"
    counts = collections.Counter()
    for sample_id, source, message in rows:
        failed = rename_function(source, fname, f"{fname}_v0").rstrip()
        reason = message.split(": ", 1)[-1][:160]
        prompt = f"{listing(view, []).rstrip()}\n\n\n{failed}\n# {fname}_v0 fails: {reason}\n\n\n{header}"
        for attempt in range(tries):
            out = llm(prompt, max_tokens=400, temperature=0.8, top_p=0.95, seed=sample_id * 10 + attempt,
                      stop=list(stop_sequences()))
            got = extract_function(header + out["choices"][0]["text"], fname, problem.parameters, version=1)
            outcome, detail = classify(evaluator, problem, got.source, seed_score)
            counts[outcome] += 1
            print(f"sample {sample_id} ({reason[:50]}): {outcome} {detail}", flush=True)
    print(f"{len(rows)} failed programs in {run_dir.name}, {tries} tries each")
    return counts


def probe_fim(llm, problem, samples: int, seed: int) -> collections.Counter:
    body = body_lines(problem.baseline_source, problem.function_name)
    at = next(i for i, line in enumerate(body) if line.strip().startswith("nearest"))
    head = problem.baseline_source[: problem.baseline_source.index(body[at])]
    suffix = "".join(line + "\n" for line in body[at + 1:])
    prompt = f"{problem.preamble.rstrip()}\n\n\n<|fim_prefix|>{head}<|fim_suffix|>{suffix}<|fim_middle|>"
    counts = collections.Counter()
    for sample in range(samples):
        out = llm(prompt, max_tokens=80, temperature=1.0, top_p=0.95, seed=seed * 1000 + sample,
                  stop=["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>"])
        middle = out["choices"][0]["text"]
        past = "\ndef " in middle or body[at + 1].strip() in middle or body[-1].strip() in middle
        outcome = "writes past the hole" if past else "fills the hole"
        counts[outcome] += 1
        print(f"{outcome}: {middle[:100]!r}", flush=True)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("probe", choices=("line", "repair", "fim"))
    parser.add_argument("--model-size", default="small")
    parser.add_argument("--samples", type=int, default=30, help="line, fim: attempts")
    parser.add_argument("--run", type=Path, help="repair: a run directory of problems/tsp.py")
    parser.add_argument("--tries", type=int, default=2, help="repair: attempts per failed program")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.probe == "repair" and args.run is None:
        parser.error("repair needs --run RUN_DIR")
    problem = load_problem(PROBLEM)
    llm = load_model(args.model_size, args.seed)
    start = time.time()
    with Evaluator(problem, SandboxLimits(wall_seconds=10)) as evaluator:
        seed_score = evaluator.evaluate(problem.baseline_source, split=problem.train_split).score
        if args.probe == "line":
            counts = probe_line(llm, problem, evaluator, seed_score, args.samples, args.seed)
        elif args.probe == "fim":
            counts = probe_fim(llm, problem, args.samples, args.seed)
        else:
            counts = probe_repair(llm, problem, evaluator, seed_score, args.run, args.tries)
    total = sum(counts.values())
    print(f"{args.probe}, {args.model_size}: {total} attempts in {time.time() - start:.0f} s")
    for outcome, count in counts.most_common():
        print(f"  {outcome:28s} {count:4d}  {100 * count / total:5.1f} %")


if __name__ == "__main__":
    main()
