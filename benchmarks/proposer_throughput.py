"""Throughput of funsearch's llama.cpp backend against raw llama-cpp-python, same prompts and seeds.

For every installed size with a GGUF, runs R rounds over P prompts x S seeds; each sample is
drawn through `Llama.create_completion` and through `LlamaCppProposer.complete` back to back,
alternating which goes first. Reports completion tokens/s, samples/s and funsearch's overhead
(target <= 5 %), and checks that both paths produced the same texts (same seeds -> same samples).

    python benchmarks/proposer_throughput.py [--sizes small,mid] [--rounds 3] [--samples 4] [--threads 2] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time

from funsearch.proposers.base import SamplingParams, merged_stop
from funsearch.proposers.llamacpp import LlamaCppProposer
from funsearch.weights.files import ensure_model_file, file_status
from funsearch.weights.registry import load_registry

HEADER = '''"""Finds good heuristics for online bin packing: items arrive one by one and go into the bin of \
highest priority."""
import numpy as np


def priority_v0(item: float, bins: np.ndarray) -> np.ndarray:
    """Returns priority with which we want to add item to each bin."""
    return -np.arange(len(bins))


def priority_v1(item: float, bins: np.ndarray) -> np.ndarray:
    """Improved version of `priority_v0`."""
    score = -(bins - item)
    score[bins < item] = -np.inf
    return score


def priority_v2(item: float, bins: np.ndarray) -> np.ndarray:
    """Improved version of `priority_v1`."""
'''
PROMPTS = (HEADER, HEADER.replace("online bin packing", "online bin packing with few bins"))


def _raw_one(llm, spec, prompt: str, params: SamplingParams) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    out = llm.create_completion(prompt=prompt, max_tokens=params.max_tokens, temperature=params.temperature,
                                top_p=params.top_p, stop=merged_stop(spec.stop, params), seed=params.seed)
    return time.perf_counter() - t0, out["usage"]["completion_tokens"], out["choices"][0]["text"]


def _fs_one(prop: LlamaCppProposer, prompt: str, params: SamplingParams) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    c = prop.complete(prompt, params, n=1)[0]
    return time.perf_counter() - t0, c.usage.completion_tokens, c.text


def bench(size: str, rounds: int, samples: int, threads: int, max_tokens: int) -> dict:
    """Paired samples: each (prompt, seed) is drawn by both paths back to back, in alternating order,
    so load from other processes on the machine hits both sides alike."""
    from llama_cpp import Llama

    spec = load_registry()[size]
    path = ensure_model_file(spec)
    base = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=max_tokens, seed=1234)
    raw = Llama(model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
    prop = LlamaCppProposer(spec, n_threads=threads, n_ctx=4096, progress=None)
    pairs, same, k = [], True, 0
    inner: list[float] = []  # seconds spent inside llama-cpp-python during funsearch's calls
    real_call = prop._llm.create_completion

    def timed_call(**kw):
        t0 = time.perf_counter()
        try:
            return real_call(**kw)
        finally:
            inner.append(time.perf_counter() - t0)

    prop._llm.create_completion = timed_call
    try:
        for _ in range(rounds):
            for prompt in PROMPTS:
                for i in range(samples):
                    params = dataclasses.replace(base, seed=base.seed + i)
                    if k % 2 == 0:
                        r, f = _raw_one(raw, spec, prompt, params), _fs_one(prop, prompt, params)
                    else:
                        f, r = _fs_one(prop, prompt, params), _raw_one(raw, spec, prompt, params)
                    k += 1
                    pairs.append((r, f))
                    same = same and r[2] == f[2] and r[1] == f[1]
    finally:
        prop.close()
        raw.close()
    raw_s, fs_s = sum(r[0] for r, _ in pairs), sum(f[0] for _, f in pairs)
    raw_tok, fs_tok = sum(r[1] for r, _ in pairs), sum(f[1] for _, f in pairs)
    return {
        "size": size, "threads": threads, "samples": len(pairs), "completion_tokens": raw_tok,
        "raw_tokens_per_s": raw_tok / raw_s, "funsearch_tokens_per_s": fs_tok / fs_s,
        "raw_samples_per_s": len(pairs) / raw_s, "funsearch_samples_per_s": len(pairs) / fs_s,
        "overhead_pct": 100.0 * (fs_s / raw_s - 1.0),
        "median_paired_overhead_pct": 100.0 * (statistics.median(f[0] / r[0] for r, f in pairs) - 1.0),
        "wrapper_ms_per_sample": 1000.0 * (fs_s - sum(inner)) / len(pairs),
        "wrapper_overhead_pct": 100.0 * (fs_s - sum(inner)) / sum(inner),
        "same_texts": same,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=None, help="comma-separated sizes (default: every size whose GGUF is available)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--samples", type=int, default=4, help="seeds per prompt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    reg = load_registry()
    if a.sizes:
        sizes = a.sizes.split(",")
    else:
        sizes = [s for s, spec in reg.items() if spec.llamacpp and s != "tiny"
                 and (lambda st: st.installed or st.parts_found == st.parts_total)(file_status(spec))]
    if not sizes:
        print("no size has its GGUF available: run `funsearch models` to see what to download", file=sys.stderr)
        return 2
    results = []
    for size in sizes:
        res = bench(size, a.rounds, a.samples, a.threads, a.max_tokens)
        results.append(res)
        if a.json:
            print(json.dumps(res))
    if not a.json:
        print(f"{'size':6} {'thr':>3} {'samples':>7} {'tokens':>6}  {'raw tok/s':>9} {'fs tok/s':>9}  "
              f"{'raw smp/s':>9} {'fs smp/s':>9}  {'overhead':>8} {'paired':>8} {'wrapper':>8}  same texts")
        for r in results:
            print(f"{r['size']:6} {r['threads']:>3} {r['samples']:>7} {r['completion_tokens']:>6}  "
                  f"{r['raw_tokens_per_s']:>9.2f} {r['funsearch_tokens_per_s']:>9.2f}  "
                  f"{r['raw_samples_per_s']:>9.3f} {r['funsearch_samples_per_s']:>9.3f}  "
                  f"{r['overhead_pct']:>+7.2f}% {r['median_paired_overhead_pct']:>+7.2f}% "
                  f"{r['wrapper_overhead_pct']:>+7.3f}%  "
                  f"{'yes' if r['same_texts'] else 'NO'}")
        print("overhead = total funsearch seconds / total raw seconds - 1; paired = median over samples of the same "
              "ratio (target <= 5 %);\nwrapper = time funsearch spends outside llama-cpp-python per sample, as a share "
              "of the time inside it (load-independent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
