"""Evaluate candidates: run them in the sandbox (funsearch/sandbox/), score them here.

`Evaluator` owns one fork server (one slot). The candidate's raw solutions come back as strict,
size-capped JSON; this trusted process decodes them and calls `problem.score` per instance, so
nothing a candidate does inside its child can change its score. `evaluate_in_process` is the
UNSANDBOXED reference path for tests and benchmarks only.
"""
from __future__ import annotations

import ast
import hashlib
import json
import random
import sys
import time
from dataclasses import replace

from funsearch.messages import one_line
from funsearch.problem.cascade import CascadeRule
from funsearch.problem.loader import Problem, ProblemError
from funsearch.problem.markers import BadOutput
from funsearch.program.units import parse_failure
from funsearch.records import EvalResult, FailureKind, InstanceOutcome
from funsearch.sandbox.client import ForkServer, SandboxError, ServerDied
from funsearch.sandbox.limits import SandboxLimits
from funsearch.sandbox.outcome import RawOutcome, interpret
from funsearch.sandbox.protections import Protection, warn_if_weak
from funsearch.sandbox.randomness import reset_random_state
from funsearch.sandbox.wire import WireError, decode_strict, encode_solution

MAX_SOURCE_BYTES = 1 << 20


def check_source(source: str, function_name: str) -> EvalResult | None:
    """A failed EvalResult when the candidate cannot run at all (syntax, missing function), else None.
    Parsing is safe in the harness: nothing is executed."""
    if not isinstance(source, str) or len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        return EvalResult.failed(FailureKind.SYNTAX_ERROR, f"candidate source exceeds {MAX_SOURCE_BYTES} bytes")
    try:
        tree = ast.parse(source)
    except Exception as exc:  # SyntaxError; ValueError (NUL bytes), UnicodeError, RecursionError, MemoryError...
        return EvalResult.failed(FailureKind.SYNTAX_ERROR, parse_failure(exc))
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not defs:
        return EvalResult.failed(FailureKind.NO_CODE, "candidate defines no function")
    if not any(n.name == function_name for n in defs):
        return EvalResult.failed(FailureKind.WRONG_SIGNATURE, f"candidate defines no function named {function_name}")
    return None


def _select(problem: Problem, split: str | None, instances: list[dict] | None) -> tuple[str, list[dict]]:
    if instances is not None:
        text = json.dumps(instances, sort_keys=True, allow_nan=False)
        return "custom:" + hashlib.sha256(text.encode()).hexdigest()[:20], list(instances)
    name = split or problem.train_split
    return "split:" + name, problem.load_split(name)


def fingerprint(solution) -> str:
    """16 hex digits identifying a decoded solution (canonical JSON): equal outputs, equal fingerprints."""
    text = json.dumps(solution, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def score_outcomes(problem: Problem, instances: list[dict], raws: list[RawOutcome], seconds: float,
                   cpu_seconds: float) -> EvalResult:
    """Trusted scoring of decoded solutions; the first failure decides the result's failure class."""
    names = problem.instance_names(instances)
    outcomes, scores, solutions = [], [], []
    for name, instance, raw in zip(names, instances, raws):
        if raw.failure is not None:
            outcomes.append(InstanceOutcome(name, None, raw.failure, one_line(raw.message), raw.seconds))
            continue
        try:
            value = problem.score(instance, raw.solution)
        except Exception as exc:
            outcomes.append(InstanceOutcome(name, None, FailureKind.INVALID_SOLUTION,
                                            one_line(f"{type(exc).__name__}: {exc}"), raw.seconds))
            continue
        outcomes.append(InstanceOutcome(name, value, None, "", raw.seconds, fingerprint(raw.solution)))
        scores.append(value)
        solutions.append(raw.solution)
    first = next((o for o in outcomes if o.failure is not None), None)
    if first is not None:
        return EvalResult(valid=False, score=None, per_instance=tuple(outcomes), failure=first.failure,
                          message=one_line(f"{first.name}: {first.message}"), seconds=seconds, cpu_seconds=cpu_seconds)
    try:
        metrics = problem.metrics(instances, solutions, scores)
    except Exception as exc:  # the problem's own code: report it, keep the scores
        metrics = {}
        print(f"funsearch: metrics() failed: {one_line(repr(exc))}", file=sys.stderr)
    return EvalResult(valid=True, score=sum(scores) / len(scores), per_instance=tuple(outcomes),
                      seconds=seconds, cpu_seconds=cpu_seconds, metrics=metrics)


class Evaluator:
    """Sandboxed evaluation of candidates for one problem, on one slot (one fork server).

    Use as a context manager or call `close()`. Not thread-safe: one evaluation at a time.
    """

    def __init__(self, problem: Problem, limits: SandboxLimits = SandboxLimits(), slot: int = 0) -> None:
        self.problem = problem
        self.limits = limits
        self.slot = slot
        self._server = ForkServer(problem, limits, slot)
        self._server.start()
        warn_if_weak(self.protections)

    @property
    def protections(self) -> tuple[Protection, ...]:
        """The protections active for this evaluator's children (for the run record)."""
        return self._server.protections()

    @property
    def restarts(self) -> int:
        """How many times the fork server had to be restarted."""
        return self._server.restarts

    def evaluate(self, candidate_source: str, split: str | None = None,
                 instances: list[dict] | None = None, cascade: CascadeRule | None = None) -> EvalResult:
        """Run the candidate on a split (default: the problem's train split) or on given instances,
        in a sandbox child; score the returned solutions here. Never raises for candidate faults.

        With a `cascade` rule the first `cascade.probe` instances run first, and the candidate stops there
        as NOOP or CASCADE_STOP when the rule says so (funsearch/problem/cascade.py); otherwise the result
        equals that of a one-stage evaluation."""
        start = time.perf_counter()
        early = check_source(candidate_source, self.problem.function_name)
        if early is not None:
            return early
        key, chosen = _select(self.problem, split, instances)
        if cascade is None or not cascade.stages(len(chosen)):
            stage = self._stage(key, chosen, candidate_source)
            if isinstance(stage, EvalResult):
                return stage
            whole = score_outcomes(self.problem, chosen, stage[0], time.perf_counter() - start, stage[1])
            noop = cascade.whole_split_noop(whole) if cascade is not None else None
            return whole if noop is None else _stopped(whole, *noop)
        k = cascade.probe
        first = self._stage(f"{key}[:{k}]", chosen[:k], candidate_source)
        if isinstance(first, EvalResult):
            return first
        probe = score_outcomes(self.problem, chosen[:k], first[0], time.perf_counter() - start, first[1])
        verdict = cascade.verdict(probe)
        if not probe.valid or verdict is not None:
            return _stopped(probe, *(verdict or (probe.failure, probe.message)))
        rest = self._stage(f"{key}[{k}:]", chosen[k:], candidate_source)
        if isinstance(rest, EvalResult):
            return replace(rest, cpu_seconds=rest.cpu_seconds + first[1], seconds=time.perf_counter() - start)
        return score_outcomes(self.problem, chosen, first[0] + rest[0], time.perf_counter() - start,
                              first[1] + rest[1])

    def _stage(self, key: str, chosen: list[dict], source: str) -> tuple[list[RawOutcome], float] | EvalResult:
        """Raw outcomes and child CPU seconds of one sandboxed run, or the failed result when the sandbox broke."""
        start = time.perf_counter()
        try:
            reply = self._server.run(key, chosen, source)
        except ServerDied as exc:
            return EvalResult.failed(FailureKind.CRASH, f"the fork server died during the evaluation ({exc}); "
                                     "it is restarted for the next candidate", time.perf_counter() - start)
        except SandboxError as exc:
            return EvalResult.failed(FailureKind.SANDBOX_ERROR, str(exc), time.perf_counter() - start)
        raws = interpret(reply.results, len(chosen), reply.exit_code, reply.timed_out, reply.overflow,
                         reply.cpu_seconds, reply.stdout, self.limits)
        return raws, reply.cpu_seconds

    def close(self) -> None:
        self._server.stop()

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stopped(result: EvalResult, kind: FailureKind | None, message: str) -> EvalResult:
    """A result the cascade stopped (or a probe that failed): not valid, no score, outputs and timings kept."""
    return replace(result, valid=False, score=None, failure=kind, message=message, metrics={})


def _random_states() -> tuple:
    """This process's `random` state and numpy's global one (None when numpy is not imported)."""
    numpy_random = sys.modules.get("numpy.random")
    return random.getstate(), (numpy_random.get_state() if numpy_random is not None else None)


def _restore_random_states(states: tuple) -> None:
    random.setstate(states[0])
    if states[1] is not None:
        sys.modules["numpy.random"].set_state(states[1])


def evaluate_in_process(problem: Problem, candidate_source: str, split: str | None = None,
                        instances: list[dict] | None = None) -> EvalResult:
    """UNSANDBOXED reference evaluation, for tests and benchmarks ONLY: the candidate runs in this
    process with full access to it. Same JSON round trip and scoring as `Evaluator.evaluate`; the
    problem module's namespace is restored afterwards."""
    start = time.perf_counter()
    early = check_source(candidate_source, problem.function_name)
    if early is not None:
        return early
    _, chosen = _select(problem, split, instances)
    namespace = vars(problem.module)
    saved = dict(namespace)
    random_states = _random_states()
    raws: list[RawOutcome] = []
    cpu0 = time.process_time()
    try:
        exec(compile(candidate_source, "<candidate>", "exec"), namespace)
        driver = namespace[problem.run_name]
        for instance in chosen:
            reset_random_state()
            t0 = time.perf_counter()
            try:
                solution = decode_strict(encode_solution(driver(instance)))
            except (TypeError, ValueError, WireError) as exc:
                raws.append(RawOutcome(failure=FailureKind.BAD_OUTPUT, message=f"{type(exc).__name__}: {exc}"))
                break
            raws.append(RawOutcome(solution=solution, seconds=time.perf_counter() - t0))
    except MemoryError as exc:
        raws.append(RawOutcome(failure=FailureKind.MEMORY, message=f"{type(exc).__name__}: {exc}"))
    except BadOutput as exc:
        raws.append(RawOutcome(failure=FailureKind.BAD_OUTPUT, message=f"{type(exc).__name__}: {exc}"))
    except Exception as exc:
        raws.append(RawOutcome(failure=FailureKind.RUNTIME_ERROR, message=f"{type(exc).__name__}: {exc}"))
    finally:
        namespace.clear()
        namespace.update(saved)
        _restore_random_states(random_states)
    cpu = time.process_time() - cpu0
    while len(raws) < len(chosen):
        raws.append(RawOutcome(failure=raws[-1].failure, message="not run: an earlier instance failed"))
    return score_outcomes(problem, chosen, raws, time.perf_counter() - start, cpu)


__all__ = ["Evaluator", "evaluate_in_process", "SandboxLimits", "check_source", "ProblemError"]
