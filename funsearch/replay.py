"""Replay a recorded run: its completions become a ReplayProposer cache, its model choices the pool's.

`funsearch run --replay RUN_DIR` runs the same configuration (seed, islands,
sizes) against these, so the database is reproduced exactly without a model.
"""
from __future__ import annotations

from pathlib import Path

from funsearch.proposers.base import Completion, SamplingParams, Usage
from funsearch.proposers.replay import ReplayProposer, completion_key
from funsearch.store.run_store import RunStore


def recorded_models(run_dir: str | Path) -> list[str]:
    """The model size of every recorded sample, by sample id (ids are dense from 0)."""
    store = RunStore(run_dir)
    try:
        return [row["model"] for row in store.query("SELECT model FROM samples ORDER BY id")]
    finally:
        store.close()


def load_replay_proposer(run_dir: str | Path, size: str) -> ReplayProposer:
    """A proposer that answers exactly the requests the recorded run made to `size`."""
    store = RunStore(run_dir)
    try:
        rows = store.query("SELECT model, prompt, completion, seed, params, prompt_tokens, completion_tokens, "
                           "cached_tokens, seconds, busy_seconds, finish_reason FROM samples WHERE model = ?", (size,))
    finally:
        store.close()
    cache = {}
    for row in rows:
        p = row["params"]
        params = SamplingParams(temperature=p["temperature"], top_p=p["top_p"], max_tokens=p["max_tokens"],
                                stop=tuple(p["stop"]), seed=p["seed"])
        usage = Usage(row["prompt_tokens"] or 0, row["completion_tokens"] or 0, row["seconds"] or 0.0,
                      row["busy_seconds"] or 0.0, row["cached_tokens"] or 0)
        cache[completion_key(size, row["prompt"], params)] = Completion(
            text=row["completion"] or "", usage=usage, model=size, seed=row["seed"],
            finish_reason=row["finish_reason"] or "stop")
    return ReplayProposer(cache, size)
