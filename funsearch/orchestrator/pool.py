"""The proposer pool: actors per model size, which size serves the next request, and requests in flight.

The size of each request is chosen once, before it waits for a free actor of
that size: by fixed shares (deficit against the configured shares), by the
cost-aware bandit, or (in replay) by what the recorded run used.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import ray

from funsearch.config import RunConfig
from funsearch.orchestrator.actors import ProposerActor
from funsearch.program.prompt import stop_sequences
from funsearch.proposers.base import Completion, SamplingParams
from funsearch.search.sampling import PromptDraw


@dataclass(frozen=True)
class Request:
    """One prompt sent to one proposer actor.

    Attributes:
      slot: index of the actor in the pool.
      size: its model size.
      draw: the database's draw: island, parents and the planned prompt (search.sampling.PromptDraw).
      params: sampling parameters (params.seed is the first sample's seed).
      n: completions asked for.
      first_sample: sample id of the first completion; the others follow.
    """

    slot: int
    size: str
    draw: PromptDraw
    params: SamplingParams
    n: int
    first_sample: int

    @property
    def prompt(self) -> str:
        return self.draw.plan.text

    @property
    def island(self) -> int:
        return self.draw.island

    @property
    def parent_ids(self) -> tuple[int, ...]:
        return self.draw.parent_ids


class Pool:
    """Proposer actors and the policy that shares samples among sizes."""

    def __init__(self, cfg: RunConfig, replay_from: Path | None):
        from funsearch.search.pool_policy import CostAwareBandit, FixedShares

        self.cfg = cfg
        self.counts = cfg.counts()
        self.slots: list[str] = [size for size, k in self.counts.items() for _ in range(k)]
        self.backend = ("replay" if replay_from else "mutation" if cfg.mode == "random_mutation" else cfg.backend)
        self.replay_models: list[str] | None = None
        if replay_from is not None:
            from funsearch.store.history import recorded_models
            self.replay_models = recorded_models(replay_from)
        total = sum(self.counts.values())
        if cfg.pool_policy == "bandit":
            self.policy = CostAwareBandit(list(self.counts), seed=cfg.seed)
        else:
            self.policy = FixedShares({size: k / total for size, k in self.counts.items()})
        self.replay_from = replay_from
        self.refs: dict = {}
        self.load: dict[int, int] = {}            # slot -> requests sent (or reserved) and not yet collected
        self.choice: str | None = None
        self.stop_by_size: dict[str, tuple[str, ...]] = {}
        self.strategy_by_size: dict[str, str] = {}
        self.errors: dict[int, int] = {}          # consecutive failed calls per slot
        self.ready_at: dict[int, float] = {}      # backoff: slot unusable before this monotonic time
        self.dead: set[int] = set()               # slots given up on
        self.sent_at: dict = {}                   # ref -> monotonic time it was sent
        self.actors: list = []                    # ProposerActors, one per slot (start)
        self.nodes: list[str] = []                # the node each actor runs on (start)

    def size(self) -> int:
        return len(self.slots)

    @property
    def depth(self) -> int:
        """Requests each actor may hold at once (RunConfig.in_flight, resolved at the run's start)."""
        return self.cfg.in_flight or 1

    def concurrent(self) -> bool:
        """Can the backend serve several requests at once in one actor (threads)?"""
        return self.backend in ("openai", "simulated", "replay", "vllm")  # vllm: calls coalesce into one batch

    def start(self) -> None:
        options = self._backend_options()
        for size in self.slots:
            light = self.backend in ("openai", "simulated", "replay")  # waits on a server or a clock
            resources = {"num_cpus": 0 if light else 1, "resources": dict(self.cfg.proposer_resources),
                         "max_concurrency": self.depth if self.concurrent() else 1}
            if self.backend == "vllm":
                from funsearch.weights.registry import resolve_model
                vllm = resolve_model(size).vllm
                resources["num_gpus"] = max(1, vllm.tensor_parallel if vllm else 1)
            self.actors.append(ProposerActor.options(**resources).remote(size, self.backend, options))
        self.nodes = [node for _, node in ray.get([a.ready.remote() for a in self.actors])]  # load errors surface here
        for size in self.counts:
            self.stop_by_size[size] = self._stops(size)
            self.strategy_by_size[size] = self._strategy(size)

    def _strategy(self, size: str) -> str:
        """The prompt strategy of a size: the run's --prompt, else the size's own; classic where text is fixed."""
        if self.backend == "mutation":  # the no-LLM baseline reads classic prompts
            return "classic"
        if self.cfg.prompt:
            return self.cfg.prompt
        if self.cfg.backend in ("scripted", "simulated"):  # recorded texts read under classic prompts
            return "classic"
        from funsearch.weights.registry import resolve_model

        spec = resolve_model(size)
        return "classic" if spec.chat else spec.prompt

    def strategy(self, slot: int) -> str:
        return self.strategy_by_size[self.slots[slot]]

    def _stops(self, size: str) -> tuple[str, ...]:
        """Completion mode stops after the new function; a chat model answers in a fenced block: only its own."""
        if self.cfg.backend in ("scripted", "simulated") or self.backend == "mutation":  # replay: as recorded
            return stop_sequences()
        from funsearch.weights.registry import resolve_model

        spec = resolve_model(size)
        own = tuple(spec.stop)
        return own if spec.chat else tuple(dict.fromkeys(stop_sequences() + own))

    def _backend_options(self) -> dict:
        cfg = self.cfg
        if self.backend == "replay":
            return {"source_run": str(self.replay_from)}
        if self.backend == "openai":
            return {"base_url": cfg.base_url, "api_key_env": cfg.api_key_env}
        if self.backend == "scripted":
            return {"completions_file": cfg.scripted_file}
        if self.backend == "llamacpp":
            return {"n_threads": cfg.threads}
        if self.backend == "simulated":
            from funsearch.orchestrator.sizing import engine_batch
            return {"source": cfg.simulated_from, "hardware": cfg.hardware, "batch": engine_batch(cfg)}
        return {}

    def stops(self, slot: int) -> tuple[str, ...]:
        return self.stop_by_size.get(self.slots[slot], ())

    def replay_exhausted(self, sample_id: int) -> bool:
        return self.replay_models is not None and sample_id >= len(self.replay_models)

    def next_slot(self, sample_id: int) -> int | None:
        """A free actor of the size chosen for the next request, or None (wait)."""
        if self.choice is None:
            self.choice = self.replay_models[sample_id] if self.replay_models is not None else self.policy.choose()
        now = time.monotonic()
        candidates = [slot for slot, size in enumerate(self.slots) if size == self.choice and slot not in self.dead]
        if not candidates:  # every actor of this size is gone: let the policy pick again among the living
            self.choice = None
            return None
        free = [slot for slot in candidates
                if self.load.get(slot, 0) < self.depth and self.ready_at.get(slot, 0.0) <= now]
        return min(free, key=lambda slot: (self.load.get(slot, 0), slot)) if free else None

    def reserve(self, slot: int) -> None:
        """Count a request for `slot` before its prompt is drawn; the next request chooses its size anew."""
        self.load[slot] = self.load.get(slot, 0) + 1
        self.choice = None

    def all_dead(self) -> bool:
        return len(self.dead) == len(self.slots)

    def submit(self, slot: int, draw: PromptDraw, params: SamplingParams, n: int, first_sample: int) -> None:
        """Send a request for a reserved slot."""
        request = Request(slot, self.slots[slot], draw, params, n, first_sample)
        ref = self.actors[slot].complete.remote(draw.plan.text, params, n)
        self.refs[ref] = request
        self.sent_at[ref] = time.monotonic()

    def collect(self, ref) -> tuple[Request, list[Completion], str | None]:
        """The completions of a finished call, or the one-line error that ended it (then back off)."""
        request = self.refs.pop(ref)
        self.sent_at.pop(ref, None)
        self.load[request.slot] = self.load.get(request.slot, 1) - 1
        try:
            completions = ray.get(ref)
        except ray.exceptions.RayError as exc:
            from funsearch.messages import describe
            slot = request.slot
            self.errors[slot] = self.errors.get(slot, 0) + 1
            if self.errors[slot] > self.MAX_CONSECUTIVE_ERRORS:
                self.dead.add(slot)
            backoff = min(60.0, self.cfg.proposer_backoff * 2.0 ** (self.errors[slot] - 1))
            self.ready_at[slot] = time.monotonic() + backoff
            return request, [], describe(exc)
        self.errors[request.slot] = 0
        return request, completions, None

    MAX_CONSECUTIVE_ERRORS = 5

    def reap_hung(self, timeout: float) -> None:
        """Kill (Ray restarts it) an actor whose call has been silent past `timeout`; the call then fails."""
        now = time.monotonic()
        for ref, sent in list(self.sent_at.items()):
            if now - sent > timeout:
                self.sent_at.pop(ref)
                ray.kill(self.actors[self.refs[ref].slot], no_restart=False)

    def in_flight_samples(self) -> list[tuple[str, int]]:
        return [(r.size, r.n) for r in self.refs.values()]

    def samples_at_engines(self) -> int:
        return sum(r.n for r in self.refs.values())

    def stats(self) -> list[dict]:
        """What each actor's backend counts (the simulated engine's requests, conditioned answers...)."""
        return ray.get([a.stats.remote() for a in self.actors])

    def observe(self, size: str, gain: float, cost: float) -> None:
        self.policy.update(size, gain, cost)

    def state(self) -> dict:
        return {"policy": self.policy.to_dict() if hasattr(self.policy, "to_dict") else {},
                "stats": self.policy.stats() if hasattr(self.policy, "stats") else {}}

    def cancel(self) -> None:
        """Ask the actors to drop the requests in flight (Ray refuses force=True for actor tasks)."""
        for ref in list(self.refs):
            try:
                ray.cancel(ref)
            except Exception:  # a request that cannot be cancelled ends on its own
                pass
