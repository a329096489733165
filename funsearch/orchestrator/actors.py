"""The Ray actors of a run: proposers, evaluators and the program database.

Each wraps a plain object from the pure core or the edge; the orchestrator
(loop.py, pool.py) drives them. Kept free of loop logic.
"""
from __future__ import annotations

import ray

from funsearch.proposers.base import Completion, SamplingParams
from funsearch.records import EvalResult


@ray.remote(max_restarts=-1, max_task_retries=0)
class ProposerActor:
    """One proposer model (a size) behind a backend."""

    def __init__(self, size: str, backend: str, options: dict):
        self.size = size
        if backend == "scripted":
            import json

            from funsearch.proposers.scripted import ScriptedProposer
            with open(options["completions_file"]) as f:
                self.proposer = ScriptedProposer(json.load(f), model=size)
        elif backend == "mutation":
            from funsearch.proposers.mutation import MutationProposer
            self.proposer = MutationProposer(size)
        elif backend == "simulated":  # a SIMULATION (proposers/simulated.py): recorded texts, modelled latency
            from funsearch.proposers.simulated import SimulatedProposer
            from funsearch.weights.registry import resolve_model
            self.proposer = SimulatedProposer.from_source(resolve_model(size), options["source"],
                                                          options["hardware"], options["batch"])
        elif backend == "replay":
            from funsearch.proposers.replay import ReplayProposer
            from funsearch.store.history import replay_rows
            self.proposer = ReplayProposer.from_rows(replay_rows(options["source_run"], size), size)
        else:
            from funsearch.proposers.factory import make_proposer
            from funsearch.weights.registry import resolve_model
            self.proposer = make_proposer(resolve_model(size), backend, **options)

    def complete(self, prompt: str, params: SamplingParams, n: int) -> list[Completion]:
        return self.proposer.complete(prompt, params, n)

    def ready(self) -> tuple[str, str]:
        return self.size, ray.get_runtime_context().get_node_id()

    def stats(self) -> dict:
        return self.proposer.stats() if hasattr(self.proposer, "stats") else {}


@ray.remote(max_restarts=3, max_task_retries=1)
class EvaluatorActor:
    """One sandboxed evaluator slot (a fork server) for one problem."""

    def __init__(self, problem_path: str, timeout: float, memory_mb: int, slot: int):
        from funsearch.problem.evaluator import Evaluator
        from funsearch.problem.loader import load_problem
        from funsearch.sandbox.limits import SandboxLimits

        self.problem = load_problem(problem_path)
        self.memory_mb, self.slot = memory_mb, slot
        limits = SandboxLimits(wall_seconds=timeout, memory_mb=memory_mb)
        self.evaluator = Evaluator(self.problem, limits, slot=slot)

    def relimit(self, timeout: float) -> None:
        """Restart the fork server with another time limit per instance (held-out splits get `eval`'s)."""
        from funsearch.problem.evaluator import Evaluator
        from funsearch.sandbox.limits import SandboxLimits

        if timeout != self.evaluator.limits.wall_seconds:
            self.evaluator.close()
            self.evaluator = Evaluator(self.problem, SandboxLimits(wall_seconds=timeout, memory_mb=self.memory_mb),
                                       slot=self.slot)

    def evaluate(self, source: str, split: str | None, cascade=None) -> EvalResult:
        return self.evaluator.evaluate(source, split=split, cascade=cascade)

    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def protections(self) -> list[dict]:
        return [{"name": p.name, "on": p.on, "reason": p.reason} for p in self.evaluator.protections]


@ray.remote(num_cpus=0)
class DatabaseActor:
    """The island program database, the copy steering, the programs seen (for --diverge) and the prompt planner."""

    def __init__(self, view, db_config, seed: int, snapshot: dict | None, baseline: str, steer: bool = True,
                 diverge: bool = False, diverge_lines: str = "uniform"):
        from funsearch.program.canonical import program_hash
        from funsearch.program.divergence import KnownCode
        from funsearch.search.database import ProgramDatabase
        from funsearch.search.line_odds import LineOdds
        from funsearch.search.steering import Steering

        self.view, self.seed, self.diverge = view, seed, diverge
        self.baseline, self.baseline_hash = baseline, program_hash(baseline)
        self.db = ProgramDatabase.from_dict(snapshot) if snapshot else ProgramDatabase(db_config, seed)
        self.steering = Steering.from_dict((snapshot or {}).get("steering"), enabled=steer)
        self.known = KnownCode(codes=(snapshot or {}).get("known") or ())
        self.odds = LineOdds.from_dict((snapshot or {}).get("line_odds")) if diverge_lines == "learned" else None
        if diverge and not snapshot:
            self._see(baseline)

    def sample_prompts(self, requests: list[tuple[str, bool, int, float]]) -> list:
        """Several draws in one call, in order: (strategy, best_of_n, sample_id, temperature) each."""
        return [self.sample_prompt(*r) for r in requests]

    def sample_prompt(self, strategy: str, best_of_n: bool, sample_id: int, temperature: float):
        """Draw parents and plan the prompt (a search.sampling.PromptDraw)."""
        from funsearch.program.strategies import plan_prompt
        from funsearch.search.sampling import PromptDraw, draw_rng

        if best_of_n:  # no evolution: every prompt shows only the seed program
            island, parents = 0, ()
            ids, hashes, sources = (0,), (self.baseline_hash,), (self.baseline,)
        else:
            request = self.db.sample()
            island, parents = request.island, request.parents
            ids, hashes, sources = (tuple(p.id for p in parents), tuple(p.hash for p in parents),
                                    tuple(p.source for p in parents))
        plan = plan_prompt(strategy, self.view, sources, draw_rng(self.seed, sample_id), self.diverge,
                           self.known.codes, self.odds.choose if self.odds else None)
        return PromptDraw(island, ids, hashes, sources, plan, self.steering.temperature(temperature, island))

    def note(self, island: int, outcome: str, source: str | None = None, line: str | None = None,
             valid: bool = False) -> None:
        """Steering: one registered sample's outcome on `island` ("copy", "noop" or anything else); `source`: its
        program, which divergence holds to when its code is new as text (a duplicate can be: `x=1` for `x = 1`);
        `line`: the parent line it was made to diverge at, and whether that gave a valid program (learned lines)."""
        self.steering.note(island, outcome)
        if self.odds is not None and line is not None:
            self.odds.record(line, valid)
        if source is not None and self.diverge:
            self._see(source)

    def _see(self, source: str) -> None:
        from funsearch.program.strategies import body_lines

        try:
            self.known.add(body_lines(source, self.view.function_name))
        except Exception:  # candidate text that does not parse as expected: not remembered, never fatal
            pass

    def register(self, source: str, signature: tuple, score: float, island: int | None, meta: dict):
        best_before = self.best()
        record = self.db.register(source, signature, score, island, meta, sample_id=meta.get("sample_id"))
        new_best = best_before is None or score > best_before.score
        return record.id, new_best

    def snapshot(self) -> dict:
        odds = {"line_odds": self.odds.to_dict()} if self.odds is not None else {}
        return {**self.db.to_dict(), "steering": self.steering.to_dict(), "known": list(self.known.codes), **odds}

    def best(self):
        try:
            return self.db.best()
        except ValueError:  # empty database
            return None

    def stats(self) -> dict:
        return self.db.stats()
