"""A SIMULATED engine: recorded completions, with latencies from the roofline cost model. Never a real model.

`funsearch run --backend simulated --simulated-from RUN_DIR_OR_JSON` drives the loop at the rate a batched engine
of the chosen size would reach on the chosen hardware (`--hardware h100 --engine-batch 64`), on any machine:
- texts: real completions, recorded by an earlier run (its run directory) or listed in a JSON file (a list of
  strings, or of {"text", "completion_tokens"}). A recorded sample is replayed as the program text its own run
  read (the prompt's pre-written part of the function, then the completion), so it reads the same under any
  prompt. Where the texts come from a run, a prompt is answered with a completion that the recorded run got
  for a prompt with the same last (best) parent, when there is one ("conditioned"); else with any recorded
  completion. So a stale prompt gets what the model wrote for the stale parent. The choice is seeded by the
  sample's seed: a simulated run replays exactly.
- latency: a request admitted while k sequences decode (k <= batch; more wait in the engine's queue, first come
  first served) takes `roofline.sample_cost(size, hardware, prompt, completion, batch=k).seconds`, slept for
  real. It reports `busy_seconds` = that latency / k, its share of the engine, so proposer utilisation is
  engine-seconds over wall seconds, as `funsearch plan` counts it.
Thread-safe: a threaded Ray actor runs many `complete` calls at once, as a batched server would.
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from funsearch.proposers.base import Completion, ProposerError, SamplingParams, Usage

CHARS_PER_TOKEN = 3.6  # a prompt's tokens when the texts come without counts (code, Qwen's tokenizer)
_DEF = re.compile(r"^def (\w+?)_v(\d+)\(", re.M)


@dataclass(frozen=True)
class Entry:
    """One recorded completion: the text replayed, its completion tokens, the key of its prompt's last parent."""

    text: str
    completion_tokens: int
    parent: str | None = None


def last_parent_key(prompt: str) -> str | None:
    """Hash (normalised AST) of the last parent a prompt lists (`<name>_v{k-1}`, ascending score), or None."""
    from funsearch.program.canonical import program_hash, rename_function

    heads = list(_DEF.finditer(prompt))
    if len(heads) < 2:
        return None
    name, block = heads[-1].group(1), prompt[heads[-2].start(): heads[-1].start()]
    try:
        return program_hash(rename_function(block, f"{name}_v{heads[-2].group(2)}", name))
    except Exception:  # a block the parser or renamer gives up on: no key
        return None


def program_text(prompt: str, completion: str, strategy: str | None) -> str:
    """What the recorded run's extractor read: for edit and idea prompts, their open `def` and the completion."""
    if strategy and strategy.split(":")[0] in ("edit", "idea"):
        heads = list(_DEF.finditer(prompt))
        if heads:
            return prompt[heads[-1].start():] + completion
    return completion


def load_entries(source: str | Path) -> tuple[list[Entry], float]:
    """The completions of a run directory or a JSON file, and the characters per prompt token to assume."""
    path = Path(source)
    if path.is_dir():
        from funsearch.store.run_store import RunStore, StoreError

        try:
            store = RunStore(path, read_only=True)
        except StoreError as exc:
            raise ProposerError(str(exc)) from None
        try:
            rows = store.recorded_completions()
        finally:
            store.close()
        entries = [Entry(program_text(r["prompt"] or "", r["completion"] or "", r["strategy"]),
                         int(r["completion_tokens"] or 0), last_parent_key(r["prompt"] or "")) for r in rows]
        chars = sum(len(r["prompt"] or "") for r in rows)
        tokens = sum(int(r["prompt_tokens"] or 0) for r in rows)
        per = chars / tokens if tokens else CHARS_PER_TOKEN
    else:
        try:
            items = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ProposerError(f"cannot read completions from {path}: {exc}") from None
        entries = []
        for item in items if isinstance(items, list) else []:
            text = item if isinstance(item, str) else str(item.get("text", ""))
            tokens = None if isinstance(item, str) else item.get("completion_tokens")
            entries.append(Entry(text, int(tokens) if tokens else max(1, round(len(text) / CHARS_PER_TOKEN))))
        per = CHARS_PER_TOKEN
    if not entries:
        raise ProposerError(f"no completions to simulate with in {path}")
    return entries, per


class LatencyModel:
    """Seconds of one sequence decoded among `k` on a hardware profile (roofline.sample_cost, cached)."""

    def __init__(self, spec, hw, calibration=None):
        from funsearch.cost.roofline import sample_cost

        @lru_cache(maxsize=4096)
        def seconds(prompt_tokens: int, completion_tokens: int, k: int) -> float:
            return sample_cost(spec, hw, prompt_tokens, completion_tokens, batch=k, calibration=calibration).seconds

        self.seconds = seconds


class SimulatedProposer:
    """A batched engine of `batch` sequences answering with recorded completions after roofline latencies.

    Attributes:
      model: the size reported on completions.
      entries: the recorded completions.
      batch: sequences decoded together; further requests queue.
      latency: the LatencyModel.
      chars_per_token: prompt characters per token (prompt tokens are estimated from the prompt's length).
      time_scale: multiplies every latency (1.0: real time; tests use less).
    """

    def __init__(self, model: str, entries: list[Entry], latency: LatencyModel, batch: int = 64,
                 chars_per_token: float = CHARS_PER_TOKEN, time_scale: float = 1.0):
        if batch < 1 or not entries:
            raise ProposerError("a simulated engine needs batch >= 1 and at least one completion")
        self.model, self.entries, self.latency, self.batch = model, entries, latency, batch
        self.chars_per_token, self.time_scale = chars_per_token, time_scale
        self.by_parent: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            if e.parent is not None:
                self.by_parent.setdefault(e.parent, []).append(i)
        self._cond = threading.Condition()
        self._active = 0
        self._queue: list[int] = []      # tickets waiting for a slot, first come first served
        self._ticket = 0
        self.counts = {"requests": 0, "conditioned": 0, "max_active": 0, "max_queued": 0, "sequence_seconds": 0.0}

    @classmethod
    def from_source(cls, spec, source: str | Path, hardware: str, batch: int, **options) -> "SimulatedProposer":
        from funsearch.cost.hardware import load_hardware

        entries, per = load_entries(source)
        return cls(spec.name, entries, LatencyModel(spec, load_hardware().get(hardware)), batch, per, **options)

    def choose(self, prompt: str, seed: int) -> tuple[Entry, bool]:
        """The completion for a prompt (seeded): one recorded for the same last parent when there is one."""
        rng = random.Random(seed)
        pool = self.by_parent.get(last_parent_key(prompt) or "") if self.by_parent else None
        if pool:
            return self.entries[pool[rng.randrange(len(pool))]], True
        return self.entries[rng.randrange(len(self.entries))], False

    def _admit(self) -> int:
        with self._cond:
            ticket, self._ticket = self._ticket, self._ticket + 1
            self._queue.append(ticket)
            self.counts["max_queued"] = max(self.counts["max_queued"], len(self._queue) - 1)
            while self._active >= self.batch or self._queue[0] != ticket:
                self._cond.wait()
            self._queue.pop(0)
            self._active += 1
            self.counts["max_active"] = max(self.counts["max_active"], self._active)
            self._cond.notify_all()
            return self._active

    def _release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def _one(self, prompt: str, seed: int) -> Completion:
        t0 = time.perf_counter()
        entry, conditioned = self.choose(prompt, seed)
        prompt_tokens = max(1, round(len(prompt) / self.chars_per_token))
        k = self._admit()
        try:
            seconds = self.latency.seconds(prompt_tokens, max(1, entry.completion_tokens), k) * self.time_scale
            time.sleep(seconds)
        finally:
            self._release()
        with self._cond:
            self.counts["requests"] += 1
            self.counts["conditioned"] += conditioned
            self.counts["sequence_seconds"] += seconds  # / (wall * batch): the engine's mean occupancy
        usage = Usage(prompt_tokens, entry.completion_tokens, time.perf_counter() - t0, seconds / k)
        return Completion(entry.text, usage, self.model, seed, "stop", {"simulated": True})

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        """n completions (seeds params.seed + i), decoded side by side like a batched server's."""
        if n == 1:
            return [self._one(prompt, params.seed)]
        out: list[Completion | None] = [None] * n
        errors: list[BaseException] = []

        def run(i: int) -> None:
            try:
                out[i] = self._one(prompt, params.seed + i)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return list(out)

    def stats(self) -> dict:
        with self._cond:
            return dict(self.counts)

    def close(self) -> None:
        pass
