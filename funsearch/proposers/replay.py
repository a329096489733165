"""Replay: a completion cache keyed by (model, prompt, sampling params incl. seed).

`funsearch run --replay RUN_DIR` feeds the recorded completions of a run (store/history.replay_rows) back
through `ReplayProposer.from_rows`, so the run's database is reproduced without calling a model.
`RecordingProposer` wraps a live backend and fills such a cache.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Mapping, MutableMapping

from funsearch.proposers.base import Completion, Proposer, ProposerError, SamplingParams, Usage


def completion_key(model: str, prompt: str, params: SamplingParams) -> str:
    """sha256 (hex) of the canonical JSON of one sample's request; params.seed is the sample's own seed."""
    doc = {
        "model": model,
        "prompt": prompt,
        "temperature": float(params.temperature),
        "top_p": float(params.top_p),
        "max_tokens": int(params.max_tokens),
        "stop": list(params.stop),
        "seed": int(params.seed),
    }
    canon = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def sample_keys(model: str, prompt: str, params: SamplingParams, n: int) -> list[str]:
    """Keys of the n samples of one call (sample i uses seed params.seed + i)."""
    return [completion_key(model, prompt, dataclasses.replace(params, seed=params.seed + i)) for i in range(n)]


class ReplayProposer:
    """Returns recorded completions; a request that was never recorded raises ProposerError.

    Attributes:
      model: the model name the keys were recorded under.
      cache: key (completion_key) -> recorded Completion.
    """

    def __init__(self, cache: Mapping[str, Completion], model: str):
        self.cache, self.model = cache, model

    @classmethod
    def from_rows(cls, rows: list[dict], size: str) -> "ReplayProposer":
        """A proposer that answers exactly the recorded requests to `size` (rows as store/history.replay_rows)."""
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
        return cls(cache, size)

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        out = []
        for i, key in enumerate(sample_keys(self.model, prompt, params, n)):
            hit = self.cache.get(key)
            if hit is None:
                raise ProposerError(
                    f"no recorded completion for model {self.model!r}, seed {params.seed + i}, key {key[:16]}")
            out.append(hit)
        return out

    def close(self) -> None:
        pass


class RecordingProposer:
    """Wraps a live proposer and stores every completion under its key in `sink`.

    Attributes:
      inner: the live backend.
      sink: where completions are recorded (a dict, or a store-backed mapping).
      model: inner.model.
    """

    def __init__(self, inner: Proposer, sink: MutableMapping[str, Completion]):
        self.inner, self.sink, self.model = inner, sink, inner.model

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        out = self.inner.complete(prompt, params, n)
        for key, c in zip(sample_keys(self.model, prompt, params, n), out):
            self.sink[key] = c
        return out

    def close(self) -> None:
        self.inner.close()
