"""The evaluation side of a run: evaluator actors, programs waiting for one, results by program hash.

Each distinct program (normalised-AST hash) is evaluated once. With the cascade on (RunConfig.cascade_probe),
a program runs on the probe instances first and is compared there with its parents' outputs and scores
(funsearch/problem/cascade.py); the parents' probes are kept here from their own evaluations.
"""
from __future__ import annotations

from collections import deque

import ray

from funsearch.config import RunConfig
from funsearch.orchestrator.actors import EvaluatorActor
from funsearch.problem.cascade import CascadeRule, ParentProbe
from funsearch.records import EvalResult, FailureKind
from funsearch.sandbox.limits import DEFAULT_INSTANCE_SECONDS


class Evaluations:
    """Evaluator actors and the bookkeeping of which program is evaluated where.

    Attributes:
      by_hash: program hash -> its result (None while queued or running).
      queue: (hash, source, cascade rule, first sample id) waiting for a free evaluator; dispatched in arrival
        order, or lowest sample id first under ordered registration (the sample that blocks the others).
      refs: evaluation ref -> (evaluator slot, hash).
      probes: program hash -> its outputs and scores on the probe instances (valid programs only).
    """

    def __init__(self, cfg: RunConfig, problem_path: str, split: str):
        self.cfg, self.problem_path, self.split = cfg, problem_path, split
        self.actors: list = []
        self.idle: list[int] = []
        self.by_hash: dict[str, EvalResult | None] = {}
        self.queue: deque[tuple[str, str, CascadeRule | None, int]] = deque()
        self.refs: dict = {}
        self.probes: dict[str, ParentProbe] = {}
        self.seconds = 0.0

    def start(self, count: int | None = None) -> None:
        """Start evaluator actors up to `count` (default cfg.evaluators, else 1), spread over the cluster's nodes."""
        cfg = self.cfg
        for slot in range(len(self.actors), count or cfg.evaluators or 1):
            self.actors.append(EvaluatorActor.options(
                num_cpus=1, resources=dict(cfg.evaluator_resources), scheduling_strategy="SPREAD").remote(
                self.problem_path, cfg.eval_timeout, cfg.eval_memory_mb, slot))
            self.idle.append(slot)

    def evaluate_now(self, source: str, split: str | None = None) -> EvalResult:
        """Evaluate one program on the first evaluator and wait (the seed program, held-out splits)."""
        return ray.get(self.actors[0].evaluate.remote(source, split or self.split))

    def heldout(self, source: str, splits: list[str]) -> dict[str, dict]:
        """One program on each of `splits` (reporting only: not charged to the run's budget), with `funsearch
        eval`'s time limit per instance: held-out instances are larger than the training split's, and a
        run's limit (`eval_timeout`) is sized for those; a held-out result must not depend on machine load."""
        ray.get(self.actors[0].relimit.remote(max(self.cfg.eval_timeout, DEFAULT_INSTANCE_SECONDS)))
        out = {}
        for split in splits:
            r = self.evaluate_now(source, split)
            out[split] = {"valid": r.valid, "score": r.score, "metrics": dict(r.metrics),
                          "failure": r.failure.value if r.failure else None, "message": r.message,
                          "seconds": round(r.seconds, 3)}
        return out

    def known(self, program_hash: str) -> bool:
        return program_hash in self.by_hash

    def enqueue(self, program_hash: str, source: str, parent_hashes: tuple[str, ...], sample_id: int = 0) -> None:
        """Queue a program not seen before; its cascade compares it with the parents whose probes are known."""
        self.by_hash[program_hash] = None
        self.queue.append((program_hash, source, self.rule(parent_hashes), sample_id))

    def rule(self, parent_hashes: tuple[str, ...]) -> CascadeRule | None:
        probes = tuple(self.probes[h] for h in parent_hashes if h in self.probes)
        if self.cfg.cascade_probe <= 0 or not probes:
            return None
        margin = self.cfg.cascade_margin if self.cfg.cascade_margin >= 0 else None
        return CascadeRule(probe=self.cfg.cascade_probe, parents=probes, margin=margin)

    def dispatch(self) -> None:
        while self.queue and self.idle:
            if self.cfg.registration == "ordered" and len(self.queue) > 1:
                head = min(self.queue, key=lambda item: item[3])
                self.queue.remove(head)
            else:
                head = self.queue.popleft()
            h, source, rule, _ = head
            slot = self.idle.pop()
            ref = self.actors[slot].evaluate.remote(source, self.split, rule)
            self.refs[ref] = (slot, h)

    def collect(self, ref) -> tuple[str, EvalResult]:
        """The finished evaluation behind `ref`: (program hash, result); the evaluator is free again."""
        slot, h = self.refs.pop(ref)
        self.idle.append(slot)
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the actor died (restarted by Ray): record, don't retry forever
            result = EvalResult.failed(FailureKind.SANDBOX_ERROR, f"evaluator died: {type(exc).__name__}")
        self.record(h, result)
        return h, result

    def record(self, program_hash: str, result: EvalResult) -> None:
        """Keep a result (and, for a valid program, its probe for the cascades of its children)."""
        self.by_hash[program_hash] = result
        self.seconds += result.seconds
        if self.cfg.cascade_probe > 0:
            probe = ParentProbe.of(result, self.cfg.cascade_probe)
            if probe is not None:
                self.probes[program_hash] = probe

    def busy(self) -> bool:
        return bool(self.queue or self.refs)

    def pending(self, program_hash: str) -> bool:
        """Queued or being evaluated (its result not known yet)."""
        return program_hash in self.by_hash and self.by_hash[program_hash] is None
