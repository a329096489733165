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
from dataclasses import replace
from pathlib import Path
from typing import Callable

import ray

from funsearch.config import RunConfig
from funsearch.orchestrator.accounts import Accounts
from funsearch.orchestrator.actors import DatabaseActor
from funsearch.orchestrator.evaluations import Evaluations
from funsearch.orchestrator.pool import Pool
from funsearch.orchestrator.rows import evaluation_row, sample_row
from funsearch.problem.loader import Problem
from funsearch.proposers.base import Completion, SamplingParams
from funsearch.records import EvalResult, FailureKind
from funsearch.search import bookkeeping
from funsearch.search.sampling import PromptDraw, copy_kind, read_completion
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
        self.draws: dict[int, PromptDraw] = {}       # sample id -> the prompt draw it answers (until registered)
        self.evals = Evaluations(cfg, str(problem.path), self.split)
        self.registered_hashes: set[str] = set()
        self.island_programs: dict[int, int] = {}    # island -> programs registered there (staleness)
        self.stop_reason = ""
        self.db = None                                       # the DatabaseActor (start_actors)
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
                                       self.problem.baseline_source, cfg.steer)
        self.pool.start()
        self.evals.start()

    def seed_database(self) -> None:
        """Evaluate the problem's baseline and register it on every island (sample id -1)."""
        result = self.evals.evaluate_now(self.problem.baseline_source)
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
        self.evals.record(h, result)
        self.progress.best_score = result.score
        self.echo(f"baseline: score {result.score:.6g}  {fmt_metrics(result.metrics)}")

    # --- the loop ----------------------------------------------------------------
    def run(self) -> None:
        self.loop_started = time.monotonic()
        while True:
            self.evals.dispatch()
            self.register_ready()
            if not self.stop_reason:
                self.stop_reason = self._stop_check()
            if not self.stop_reason:
                self._fill_proposers()
            pending = list(self.pool.refs) + list(self.evals.refs)
            if not pending and not self.evals.queue:
                if self.stop_reason:
                    break
                if self.next_register < self.next_sample:  # waiting on nothing: must not happen
                    raise RuntimeError("search loop stalled with unregistered samples")
                time.sleep(0.05)  # every proposer is backing off after errors
                continue
            ready, _ = ray.wait(pending, num_returns=1, timeout=1.0)
            self.pool.reap_hung(self.cfg.proposer_timeout)
            for ref in ready:
                if ref in self.evals.refs:
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
            draw = ray.get(self.db.sample_prompt.remote(self.pool.strategy(slot), self.cfg.mode == "best_of_n",
                                                        self.next_sample, self.cfg.temperature))
            draw = replace(draw, registered=self.island_programs.get(draw.island, 0))
            params = SamplingParams(temperature=draw.temperature, top_p=self.cfg.top_p,
                                    max_tokens=self.cfg.max_tokens, stop=self.pool.stops(slot),
                                    seed=bookkeeping.sample_seed(self.cfg.seed, self.next_sample))
            self.pool.submit(slot, draw, params, n, self.next_sample)
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
            draw = request.draw if self.cfg.parent_helpers else replace(request.draw, parent_sources=())
            outcome = read_completion(sample_id, completion, draw, self.problem.function_name,
                                      self.problem.parameters)
            if completion.finish_reason == "error":
                outcome = bookkeeping.SampleOutcome(sample_id, None, None, FailureKind.PROPOSER_ERROR,
                                               completion.extra.get("error", ""))
            self.progress.on_completion(request.size, completion, outcome)
            costs = self.accounts.charge_sample(request.size, completion)
            row = sample_row(request, completion, outcome, costs, self.pool.backend, self.cfg.hardware)
            self.store.add_sample(row)
            self.outcomes[sample_id] = row
            self.draws[sample_id] = request.draw
            if outcome.source is not None and not self.evals.known(outcome.program_hash):
                self.evals.enqueue(outcome.program_hash, outcome.source, request.draw.parent_hashes)
        self.echo_progress()

    def _on_evaluation(self, ref) -> None:
        h, result = self.evals.collect(ref)
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
            if h is not None and self.evals.by_hash.get(h) is None:
                return
            self._register(row, self.draws.pop(self.next_register, None))
            del self.outcomes[self.next_register]
            self.next_register += 1
            if self.next_register % self.cfg.checkpoint_every == 0:
                self.checkpoint()

    def _register(self, row: dict, draw: PromptDraw | None) -> None:
        """Settle one sample in order: duplicate, failure or registered program; steer its island; record it."""
        h, model, island = row["program_hash"], row["model"], row["island"]
        if draw is not None:
            row["staleness"] = self.island_programs.get(island, 0) - draw.registered
        outcome, gain = self._settle(row, h, model, draw)
        self.db.note.remote(island, outcome)
        self.store.add_sample(row)
        self.pool.observe(model, gain, row["modelled_cost"])

    def _settle(self, row: dict, h: str | None, model: str, draw: PromptDraw | None) -> tuple[str, float]:
        """(steering outcome, score gain) of one sample; updates the row, the database and the tallies."""
        if h is None:
            return "failed", 0.0
        result = self.evals.by_hash[h]
        if h in self.registered_hashes:
            parent = draw is not None and copy_kind(h, draw) == "parent"
            self.progress.on_duplicate(model, parent)
            row.update(failure=FailureKind.DUPLICATE.value,
                       message="copy of a parent" if parent else "same program as an earlier sample")
            return "copy", 0.0
        self.registered_hashes.add(h)
        self.evals.by_hash[h] = REGISTERED  # keep the hash (dedupe), drop the per-instance result (memory)
        best_before = self.progress.best_score
        new_best = False
        if result.valid:
            program_id, new_best = ray.get(self.db.register.remote(
                row["source"], result.signature, result.score, row["island"], {"sample_id": row["id"]}))
            self.island_programs[row["island"]] = self.island_programs.get(row["island"], 0) + 1
            self.store.add_program({"id": program_id, "sample_id": row["id"], "island": row["island"],
                                    "hash": h, "source": row["source"], "score": result.score,
                                    "signature": list(result.signature), "new_best": int(new_best)})
        else:
            row.update(failure=(result.failure or FailureKind.SANDBOX_ERROR).value, message=result.message)
        gain = max(0.0, (result.score or 0.0) - best_before) if (new_best and best_before is not None) else 0.0
        self.progress.on_evaluation(model, result, new_best)
        return ("noop" if result.failure is FailureKind.NOOP else "fresh"), gain

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
                "evaluators": self.progress.eval_seconds / (wall * len(self.evals.actors)),
                "proposer_count": self.pool.size(), "evaluator_count": len(self.evals.actors)}

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
