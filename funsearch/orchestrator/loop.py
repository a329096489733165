"""The search loop: keeps every proposer busy, evaluates in the sandbox, registers in order, records everything.

One sample: the database actor draws parents and builds the prompt; a proposer
actor completes it; the driver extracts the program (pure), sends it to an
evaluator actor unless an identical program was already evaluated, charges the
ledger, and writes the sample and evaluation rows to the run store at once.
Results are registered in sample-id order behind a fixed window (see
search/bookkeeping.py), so a run is reproducible from its seed and completions.
"""
from __future__ import annotations

import sys
import time
from collections import deque
from pathlib import Path
from typing import Callable

import ray

from funsearch.config import RunConfig
from funsearch.orchestrator.accounts import Accounts
from funsearch.orchestrator.actors import DatabaseActor, EvaluatorActor
from funsearch.orchestrator.pool import Pool
from funsearch.orchestrator.rows import evaluation_row, sample_row
from funsearch.problem.loader import Problem
from funsearch.proposers.base import Completion, SamplingParams
from funsearch.records import EvalResult, FailureKind
from funsearch.search import bookkeeping
from funsearch.store.run_store import RunStore

REGISTERED = EvalResult.failed(FailureKind.DUPLICATE, "already registered")


class SearchLoop:
    """One run's driver state. Light: the database lives in its actor, records go straight to the store."""

    def __init__(self, cfg: RunConfig, run_dir: Path, store: RunStore, problem: Problem,
                 replay_from: Path | None, echo: Callable[[str], None]):
        self.cfg, self.run_dir, self.store, self.problem, self.echo = cfg, run_dir, store, problem, echo
        self.split = cfg.split or problem.train_split
        self.accounts = Accounts(cfg)
        self.pool = Pool(cfg, replay_from)
        self.progress = bookkeeping.Progress()
        self.window = bookkeeping.registration_window(self.pool.size(), cfg.samples_per_prompt)
        self.next_sample = 0
        self.next_register = 0
        self.outcomes: dict[int, dict] = {}          # sample id -> sample row (awaiting registration)
        self.eval_by_hash: dict[str, EvalResult | None] = {}  # None: evaluation in flight
        self.registered_hashes: set[str] = set()
        self.eval_queue: deque[tuple[str, str]] = deque()    # (hash, source) waiting for a free evaluator
        self.stop_reason = ""
        self.db = None                                       # the DatabaseActor (start_actors)
        self.evaluators: list = []                           # EvaluatorActors, one per slot (start_actors)
        self.idle_evaluators: list[int] = []
        self.eval_refs: dict = {}                            # evaluation ref -> (slot, hash, source)
        self.loop_started: float | None = None               # when run() began (utilisation)
        self._last_echo = 0.0                                # when the last progress line went to a log

    # --- setup -------------------------------------------------------------------
    def start_actors(self, snapshot: dict | None) -> None:
        from funsearch.program.prompt import PromptView
        from funsearch.search.database import DatabaseConfig

        cfg = self.cfg
        view = PromptView(preamble=self.problem.preamble, function_name=self.problem.function_name,
                          signature=self.problem.signature, docstring=self.problem.docstring)
        db_kwargs = {"islands": cfg.islands, "functions_per_prompt": cfg.functions_per_prompt}
        if cfg.reset_period:
            db_kwargs["reset_period"] = cfg.reset_period
        self.db = DatabaseActor.remote(view, DatabaseConfig(**db_kwargs), cfg.seed, snapshot,
                                       self.problem.baseline_source)
        self.pool.start()
        self.evaluators = [EvaluatorActor.options(num_cpus=1, resources=dict(cfg.evaluator_resources)).remote(
            str(self.problem.path), cfg.eval_timeout, cfg.eval_memory_mb, slot) for slot in range(cfg.evaluators)]
        self.idle_evaluators = list(range(len(self.evaluators)))

    def seed_database(self) -> None:
        """Evaluate the problem's baseline and register it on every island (sample id -1)."""
        result = ray.get(self.evaluators[0].evaluate.remote(self.problem.baseline_source, self.split))
        if not result.valid:
            raise RuntimeError(f"the baseline of {self.problem.path.name} fails on split {self.split}: "
                               f"{result.failure.value if result.failure else ''} {result.message}")
        from funsearch.program.canonical import program_hash
        h = program_hash(self.problem.baseline_source)
        self.accounts.charge_evaluation(result)
        self.store.add_evaluation(self._eval_row(-1, h, result))
        ray.get(self.db.register.remote(self.problem.baseline_source, result.signature, result.score, None,
                                        {"seed": True, "sample_id": -1}))
        self.registered_hashes.add(h)
        self.eval_by_hash[h] = result
        self.progress.best_score = result.score
        self.echo(f"baseline: score {result.score:.6g}  {fmt_metrics(result.metrics)}")

    # --- the loop ----------------------------------------------------------------
    def run(self) -> None:
        self.loop_started = time.monotonic()
        while True:
            self._dispatch_evaluations()
            self.register_ready()
            if not self.stop_reason:
                self.stop_reason = self._stop_check()
            if not self.stop_reason:
                self._fill_proposers()
            pending = list(self.pool.refs) + list(self.eval_refs)
            if not pending and not self.eval_queue:
                if self.stop_reason:
                    break
                if self.next_register < self.next_sample:  # waiting on nothing: must not happen
                    raise RuntimeError("search loop stalled with unregistered samples")
                time.sleep(0.05)  # every proposer is backing off after errors
                continue
            ready, _ = ray.wait(pending, num_returns=1, timeout=1.0)
            self.pool.reap_hung(self.cfg.proposer_timeout)
            for ref in ready:
                if ref in self.eval_refs:
                    self._on_evaluation(ref)
                else:
                    self._on_completions(ref)
        self.register_ready(final=True)

    def _stop_check(self) -> str:
        if self.pool.all_dead():
            return "proposers-failed"
        if self.pool.replay_exhausted(self.next_sample):
            return "replay-exhausted"
        if self.cfg.samples is not None and self.next_sample >= self.cfg.samples:
            return "samples"
        if self.accounts.would_exceed(self.pool.in_flight_samples()):
            return "budget"
        return ""

    def _fill_proposers(self) -> None:
        while True:
            if self.cfg.samples is not None and self.next_sample >= self.cfg.samples:
                return
            if self.pool.replay_exhausted(self.next_sample):
                return
            if self.next_register < self.next_sample - self.window:
                return  # wait until earlier results are registered (determinism)
            slot = self.pool.next_slot(self.next_sample)
            if slot is None:
                return
            n = self.cfg.samples_per_prompt
            if self.cfg.samples is not None:
                n = min(n, self.cfg.samples - self.next_sample)
            island, parent_ids, prompt, header = ray.get(self.db.sample_prompt.remote(self.cfg.mode == "best_of_n"))
            params = SamplingParams(temperature=self.cfg.temperature, top_p=self.cfg.top_p,
                                    max_tokens=self.cfg.max_tokens, stop=self.pool.stops(slot),
                                    seed=bookkeeping.sample_seed(self.cfg.seed, self.next_sample))
            self.pool.submit(slot, prompt, header, params, n, self.next_sample, island, parent_ids)
            self.next_sample += n

    def _on_completions(self, ref) -> None:
        request, completions, error = self.pool.collect(ref)
        if error is not None:
            self.echo(f"proposer {request.size} (actor {request.slot}) failed: {error}")
            completions = [Completion(text="", usage=bookkeeping.zero_usage(), model=request.size,
                                      seed=request.params.seed + i, finish_reason="error", extra={"error": error})
                           for i in range(request.n)]
        for i, completion in enumerate(completions[: request.n]):
            sample_id = request.first_sample + i
            outcome = bookkeeping.extract(sample_id, completion, self.problem.function_name,
                                     self.problem.parameters, request.header)
            if completion.finish_reason == "error":
                outcome = bookkeeping.SampleOutcome(sample_id, None, None, FailureKind.PROPOSER_ERROR,
                                               completion.extra.get("error", ""))
            self.progress.on_completion(request.size, completion, outcome)
            costs = self.accounts.charge_sample(request.size, completion)
            row = sample_row(request, completion, outcome, costs, self.pool.backend, self.cfg.hardware)
            self.store.add_sample(row)
            self.outcomes[sample_id] = row
            if outcome.source is not None and outcome.program_hash not in self.eval_by_hash:
                self.eval_by_hash[outcome.program_hash] = None
                self.eval_queue.append((outcome.program_hash, outcome.source))
        self.echo_progress()

    def _dispatch_evaluations(self) -> None:
        while self.eval_queue and self.idle_evaluators:
            h, source = self.eval_queue.popleft()
            slot = self.idle_evaluators.pop()
            ref = self.evaluators[slot].evaluate.remote(source, self.split)
            self.eval_refs[ref] = (slot, h, source)

    def _on_evaluation(self, ref) -> None:
        slot, h, source = self.eval_refs.pop(ref)
        self.idle_evaluators.append(slot)
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the actor died (restarted by Ray): record, don't retry forever
            result = EvalResult.failed(FailureKind.SANDBOX_ERROR, f"evaluator died: {type(exc).__name__}")
        self.eval_by_hash[h] = result
        self.progress.eval_seconds += result.seconds
        self.accounts.charge_evaluation(result)
        first = min((sid for sid, row in self.outcomes.items() if row["program_hash"] == h), default=-2)
        self.store.add_evaluation(self._eval_row(first, h, result))

    def register_ready(self, final: bool = False) -> None:
        """Register outcomes in sample-id order, up to the first one whose evaluation is pending."""
        while self.next_register < self.next_sample:
            row = self.outcomes.get(self.next_register)
            if row is None:
                return
            h = row["program_hash"]
            if h is not None and self.eval_by_hash.get(h) is None:
                return
            self._register(row)
            del self.outcomes[self.next_register]
            self.next_register += 1
            if self.next_register % self.cfg.checkpoint_every == 0:
                self.checkpoint()

    def _register(self, row: dict) -> None:
        h, model = row["program_hash"], row["model"]
        if h is None:
            self.pool.observe(model, 0.0, row["modelled_cost"])
            return
        result = self.eval_by_hash[h]
        if h in self.registered_hashes:
            self.progress.on_duplicate(model)
            row.update(failure=FailureKind.DUPLICATE.value, message="same program as an earlier sample")
            self.store.add_sample(row)
            self.pool.observe(model, 0.0, row["modelled_cost"])
            return
        self.registered_hashes.add(h)
        self.eval_by_hash[h] = REGISTERED  # keep the hash (dedupe), drop the per-instance result (memory)
        best_before = self.progress.best_score
        new_best = False
        if result.valid:
            program_id, new_best = ray.get(self.db.register.remote(
                row["source"], result.signature, result.score, row["island"], {"sample_id": row["id"]}))
            self.store.add_program({"id": program_id, "sample_id": row["id"], "island": row["island"],
                                    "hash": h, "source": row["source"], "score": result.score,
                                    "signature": list(result.signature), "new_best": int(new_best)})
        else:
            row.update(failure=(result.failure or FailureKind.SANDBOX_ERROR).value, message=result.message)
            self.store.add_sample(row)
        gain = max(0.0, (result.score or 0.0) - best_before) if (new_best and best_before is not None) else 0.0
        self.pool.observe(model, gain, row["modelled_cost"])
        self.progress.on_evaluation(model, result, new_best)

    # --- records -----------------------------------------------------------------
    def _eval_row(self, sample_id: int, h: str, result: EvalResult) -> dict:
        return evaluation_row(sample_id, h, result, self.accounts.evaluation_costs(result))

    def checkpoint(self) -> None:
        snapshot = ray.get(self.db.snapshot.remote())
        self.store.add_checkpoint(self.next_register - 1, snapshot, {"pool": self.pool.state()})
        self.store.set_meta("ledger", self.accounts.to_dict())

    def utilisation(self) -> dict:
        """Busy fraction of each side since the loop started (proposer engine seconds, evaluation seconds)."""
        now = time.monotonic()
        wall = max(now - (self.loop_started if self.loop_started is not None else now), 1e-9)
        return {"wall_seconds": wall,
                "proposers": self.progress.llm_seconds / (wall * self.pool.size()),
                "evaluators": self.progress.eval_seconds / (wall * len(self.evaluators)),
                "proposer_count": self.pool.size(), "evaluator_count": len(self.evaluators)}

    def echo_progress(self) -> None:
        """The progress line: redrawn in place on a terminal, at most every 2 s otherwise (logs)."""
        line = self.progress.line(self.accounts.describe())
        if sys.stderr.isatty():
            self.echo("\r" + line)
        elif time.monotonic() - self._last_echo >= 2.0:
            self._last_echo = time.monotonic()
            self.echo(line)


def fmt_metrics(metrics: dict) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in metrics.items())
