"""The search loop: keeps the proposers' pipelines full, evaluates in the sandbox, registers, records everything.

One sample: the database actor draws parents and builds the prompt; a proposer actor completes it; the driver
extracts the program (pure), sends it to an evaluator actor unless an identical program was already evaluated,
charges the ledger, and writes the sample and evaluation rows to the run store at once.
At most `window` samples are drawn and not yet registered (orchestrator/schedule.py): each engine holds up to
`in_flight` prompts, and while the evaluators lag, waiting programs fill the window and proposals pause
(backpressure: memory stays bounded, nothing is dropped). Results are registered in sample order (ordered:
deterministic) or as they arrive (async); either way each sample records `drawn_after` and `registered_seq`,
so `--replay` rebuilds the database exactly, and its `staleness`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import ray

from funsearch.config import RunConfig
from funsearch.orchestrator import sizing
from funsearch.orchestrator.accounts import Accounts
from funsearch.orchestrator.actors import DatabaseActor
from funsearch.orchestrator.draws import Draws
from funsearch.orchestrator.evaluations import Evaluations
from funsearch.orchestrator.pool import Pool
from funsearch.orchestrator.rows import evaluation_row, sample_row
from funsearch.orchestrator.schedule import Schedule, make_schedule, recorded_log
from funsearch.problem.loader import Problem
from funsearch.proposers.base import Completion
from funsearch.records import EvalResult, FailureKind
from funsearch.search import bookkeeping
from funsearch.search.sampling import PromptDraw, copy_kind, divergence_feedback, read_completion
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
        self.replay_log = recorded_log(replay_from) if replay_from is not None else None
        self.schedule: Schedule = make_schedule("ordered", 1)    # set by configure()
        self.next_sample = 0
        self.registered = 0                                      # samples registered so far (the next seq)
        self.outcomes: dict[int, dict] = {}          # sample id -> sample row (awaiting registration)
        self.draws: dict[int, PromptDraw] = {}       # sample id -> the prompt draw it answers (until registered)
        self.drawn_after: dict[int, int] = {}        # sample id -> registrations done when it was drawn
        self.waiting: dict[str, list[int]] = {}      # program hash under evaluation -> samples that wait for it
        self.drawing = Draws()                       # draws sent to the database actor, not answered yet
        self.unsaved: dict = {}                      # register ref -> its program row, until the id is back
        self.evals, self.registered_hashes = Evaluations(cfg, str(problem.path), self.split), set()
        self.island_programs: dict[int, int] = {}    # island -> programs registered there (staleness)
        self.stop_reason = ""
        self.db = None                                       # the DatabaseActor (start_actors)
        self.loop_started: float | None = None               # when run() began (utilisation)
        self.engine_seconds = 0.0                            # the engines' busy share of every sample
        self.peaks = {"outstanding": 0, "eval_queue": 0}     # the most ever held (memory is bounded by these)
        self._last_echo = 0.0                                # when the last progress line went to a log
        self.configure(cfg)

    def configure(self, cfg: RunConfig) -> None:
        """Take a (resolved) config: the window and the registration schedule follow from it."""
        self.cfg = self.pool.cfg = self.evals.cfg = cfg
        ready = self.schedule.ready
        self.schedule = make_schedule(cfg.registration or "ordered", sizing.window(cfg, self.pool.size()),
                                      self.replay_log)
        self.schedule.ready = ready

    def start_actors(self, snapshot: dict | None) -> None:
        """The database actor and the first evaluator (the proposers start in start_proposers)."""
        from funsearch.program.prompt import PromptView
        from funsearch.search.database import DatabaseConfig

        cfg = self.cfg
        view = PromptView(preamble=self.problem.preamble, function_name=self.problem.function_name,
                          signature=self.problem.signature, docstring=self.problem.docstring)
        db_kwargs = {"islands": cfg.islands, "functions_per_prompt": cfg.functions_per_prompt}
        if cfg.reset_period:
            db_kwargs["reset_period"] = cfg.reset_period
        self.db = DatabaseActor.remote(view, DatabaseConfig(**db_kwargs), cfg.seed, snapshot,
                                       self.problem.baseline_source, cfg.steer, cfg.diverge, cfg.diverge_lines)
        self.evals.start(1)

    def start_proposers(self) -> None:
        """The rest of the evaluators (once the config says how many) and the proposers."""
        self.evals.start()
        self.pool.start()

    def run(self) -> None:
        self.loop_started = self.loop_started or time.monotonic()
        while True:
            self.evals.dispatch()
            self.save_programs()
            while self.register_ready() + (0 if self._stopping() else self._fill_proposers()):
                pass  # ordered: each draw lets one more sample register, and that one more draw
            pending = list(self.pool.refs) + list(self.evals.refs) + list(self.drawing.refs)
            if not pending and not self.evals.queue:
                if self.stop_reason:
                    break
                if self.registered < self.next_sample and self.schedule.ready == {}:  # must not happen
                    raise RuntimeError("search loop stalled with unregistered samples")
                time.sleep(0.05)  # every proposer is backing off after errors
                continue
            ready, _ = ray.wait(pending, num_returns=1, timeout=1.0)
            if ready:  # and whatever else is done by now
                ready, _ = ray.wait(pending, num_returns=len(pending), timeout=0)
            self.pool.reap_hung(self.cfg.proposer_timeout)
            for ref in sorted(ready, key=lambda r: (r not in self.evals.refs, r not in self.drawing.refs)):
                if ref in self.evals.refs:  # evaluations first, the next one dispatched at once
                    self._on_evaluation(ref)
                    self.evals.dispatch()
                elif ref in self.drawing.refs:
                    self.drawing.answer(ref, self.pool, self.cfg)
                else:
                    self._on_completions(ref)
        self.register_ready(final=True)
        self.save_programs(wait=True)
        self.stop_reason = "proposers-failed" if self.pool.all_dead() else self.stop_reason

    def _stopping(self) -> bool:
        self.stop_reason = self.stop_reason or self._stop_check()
        return bool(self.stop_reason)

    def _stop_check(self) -> str:
        if self.pool.all_dead():
            return "proposers-failed"
        if self.pool.replay_exhausted(self.next_sample):
            return "replay-exhausted"
        if self.cfg.samples is not None and self.next_sample >= self.cfg.samples:
            return "samples"
        if self.accounts.would_exceed(self.pool.in_flight_samples() + self.drawing.in_flight(self.pool)):
            return "budget"
        return ""

    def _may_draw(self, drawing: int) -> bool:
        """May another prompt be drawn, `drawing` samples being drawn in this round already?"""
        k = self.next_sample
        if (self.cfg.samples is not None and k >= self.cfg.samples) or self.pool.replay_exhausted(k):
            return False
        bound = self.cfg.eval_queue  # the window, then backpressure from programs waiting or on their way
        waiting = len(self.evals.queue) + self.pool.samples_at_engines() + self.drawing.samples() + drawing
        return self.schedule.may_draw(k, self.registered) and (not bound or waiting < bound)

    def _fill_proposers(self) -> int:
        """Send the draws the window, the evaluation queue and the free engines allow (one call); how many."""
        wanted: list[tuple[int, int, int]] = []
        while self._may_draw(sum(n for _, _, n in wanted)):
            slot = self.pool.next_slot(self.next_sample)
            if slot is None:
                break
            n = self.cfg.samples_per_prompt
            if self.cfg.samples is not None:
                n = min(n, self.cfg.samples - self.next_sample)
            self.pool.reserve(slot)
            wanted.append((slot, self.next_sample, n))
            for sid in range(self.next_sample, self.next_sample + n):
                self.drawn_after[sid] = self.registered
            self.next_sample += n
        if wanted:
            self.drawing.send(self.db, self.pool, self.cfg, wanted, self.island_programs)
            self.peaks["outstanding"] = max(self.peaks["outstanding"], self.next_sample - self.registered)
        return len(wanted)

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
            u = completion.usage
            self.engine_seconds += u.busy_seconds if u.busy_seconds > 0 else u.seconds
            costs = self.accounts.charge_sample(request.size, completion)
            row = sample_row(request, completion, outcome, costs, self.pool.backend, self.cfg.hardware)
            row["drawn_after"] = self.drawn_after.get(sample_id)
            self.store.add_sample(row)
            self.outcomes[sample_id] = row
            self.draws[sample_id] = request.draw
            self._await(sample_id, outcome.program_hash, outcome.source, request.draw.parent_hashes)
        self.peaks["eval_queue"] = max(self.peaks["eval_queue"], len(self.evals.queue))
        self.echo_progress()

    def _await(self, sample_id: int, h: str | None, source: str | None, parent_hashes: tuple[str, ...]) -> None:
        """A sample is ready to register once its program's result is known; queue a program not seen before."""
        if h is None or (self.evals.known(h) and not self.evals.pending(h)):
            self.schedule.mark_ready([sample_id])
            return
        if not self.evals.known(h):
            self.evals.enqueue(h, source, parent_hashes, sample_id)
        self.waiting.setdefault(h, []).append(sample_id)

    def _on_evaluation(self, ref) -> None:
        h, result = self.evals.collect(ref)
        self.progress.eval_seconds += result.seconds
        self.accounts.charge_evaluation(result)
        waiting = self.waiting.pop(h, [])
        self.store.add_evaluation(self._eval_row(min(waiting, default=-2), h, result))
        self.schedule.mark_ready(waiting)

    def register_ready(self, final: bool = False) -> int:
        """Register every sample the schedule lets through now (ordered: in sample order; async: as ready)."""
        stopping, done = final or bool(self.stop_reason), 0
        while True:
            sid = self.schedule.next(self.registered, self.next_sample, stopping)
            if sid is None:
                return done
            done += 1
            self.schedule.take(sid)
            row = self.outcomes.pop(sid)
            self.drawn_after.pop(sid, None)
            row["registered_seq"] = self.registered
            self._register(row, self.draws.pop(sid, None))
            self.registered += 1
            if self.registered % self.cfg.checkpoint_every == 0:
                self.checkpoint()

    def _register(self, row: dict, draw: PromptDraw | None) -> None:
        """Settle one sample in order: duplicate, failure or registered program; steer its island; record it."""
        h, model, island = row["program_hash"], row["model"], row["island"]
        if draw is not None:
            row["staleness"] = self.island_programs.get(island, 0) - draw.registered
        outcome, gain = self._settle(row, h, model, draw)
        self.db.note.remote(island, outcome, row["source"] if self.cfg.diverge else None,
                            *divergence_feedback(draw, row.get("failure"), outcome))
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
        if result.valid:  # sent without waiting: the program's row is written when its id comes back
            new_best = best_before is None or result.score > best_before
            ref = self.db.register.remote(row["source"], result.signature, result.score, row["island"],
                                          {"sample_id": row["id"]})
            self.island_programs[row["island"]] = self.island_programs.get(row["island"], 0) + 1
            self.unsaved[ref] = {"sample_id": row["id"], "island": row["island"], "hash": h, "source": row["source"],
                                 "score": result.score, "signature": list(result.signature), "new_best": int(new_best)}
        else:
            row.update(failure=(result.failure or FailureKind.SANDBOX_ERROR).value, message=result.message)
        gain = max(0.0, (result.score or 0.0) - best_before) if (new_best and best_before is not None) else 0.0
        self.progress.on_evaluation(model, result, new_best)
        return ("noop" if result.failure is FailureKind.NOOP else "fresh"), gain

    def _eval_row(self, sample_id: int, h: str, result: EvalResult) -> dict:
        return evaluation_row(sample_id, h, result, self.accounts.evaluation_costs(result))

    def save_programs(self, wait: bool = False) -> None:
        """Write the rows of registered programs whose database ids are back (all of them: `wait`)."""
        refs = list(self.unsaved)
        done = refs if wait or not refs else ray.wait(refs, num_returns=len(refs), timeout=0)[0]
        for ref, (program_id, _) in zip(done, ray.get(done)):
            self.store.add_program({**self.unsaved.pop(ref), "id": program_id})

    def checkpoint(self) -> None:
        self.save_programs(wait=True)
        snapshot = ray.get(self.db.snapshot.remote())
        extra = {"pool": self.pool.state(), "registered": self.registered, "mode": self.schedule.mode}
        self.store.add_checkpoint(self.registered - 1, snapshot, extra)
        self.store.set_meta("ledger", self.accounts.to_dict())

    def echo_progress(self) -> None:
        """The progress line: redrawn in place on a terminal, at most every 2 s otherwise (logs)."""
        line = self.progress.line(self.accounts.describe())
        if sys.stderr.isatty():
            self.echo("\r" + line)
        elif time.monotonic() - self._last_echo >= 2.0:
            self._last_echo = time.monotonic()
            self.echo(line)

