"""The bookkeeping of a search, free of Ray and I/O: seeds, the registration window, sample outcomes, progress.

Determinism: the prompt of sample k is drawn from a database that holds exactly
the results of samples 0 .. k-window-1 (registered in sample-id order), so the
database's choices depend on the seed and the completions only, never on
timing. A proposer does not wait for evaluations: the window is larger than the
number of samples in flight, and evaluations take milliseconds.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from funsearch.messages import one_line
from funsearch.program.canonical import program_hash
from funsearch.program.extract import extract_function
from funsearch.proposers.base import Completion, Usage
from funsearch.records import EvalResult, FailureKind


def sample_seed(run_seed: int, sample_id: int) -> int:
    """The sampling seed of one sample: distinct per sample, reproducible from the run seed."""
    digest = hashlib.sha256(f"{run_seed}:{sample_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def zero_usage() -> Usage:
    """Usage of a completion that never came (a failed proposer call)."""
    return Usage(prompt_tokens=0, completion_tokens=0, seconds=0.0, busy_seconds=0.0)


def registration_window(proposers: int, samples_per_prompt: int) -> int:
    """How many sample ids may be outstanding (drawn, not yet registered) when a prompt is drawn."""
    return (proposers + 1) * samples_per_prompt


@dataclass(frozen=True)
class SampleOutcome:
    """What became of one completion before evaluation.

    Attributes:
      sample_id: the sample's id.
      source: the extracted program (None when extraction failed).
      program_hash: hash of its normalised AST (None when extraction failed).
      failure: NO_CODE / SYNTAX_ERROR / WRONG_SIGNATURE, or None when a program was extracted.
      message: one-line reason for a failure.
    """

    sample_id: int
    source: str | None
    program_hash: str | None
    failure: FailureKind | None
    message: str = ""


def extract(sample_id: int, completion: Completion, function_name: str, parameters: tuple[str, ...],
            header: str | None) -> SampleOutcome:
    """Turn a completion into a program, or a classified failure. Never raises: whatever the harness's own
    parsing, renaming or hashing of the text gives up on (too deep, too large, NUL bytes...) is a SYNTAX_ERROR."""
    try:
        got = extract_function(completion.text, function_name, parameters, header=header)
        if got.source is None:
            return SampleOutcome(sample_id, None, None, got.failure or FailureKind.NO_CODE, got.message)
        return SampleOutcome(sample_id, got.source, program_hash(got.source), None, "")
    except Exception as exc:
        message = str(exc) if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
        return SampleOutcome(sample_id, None, None, FailureKind.SYNTAX_ERROR, one_line(message))


RAN = (FailureKind.INVALID_SOLUTION, FailureKind.BAD_OUTPUT, FailureKind.OUTPUT_TOO_LARGE, FailureKind.NOOP,
       FailureKind.CASCADE_STOP)  # failures of programs that ran to the end (of the split or of the probe)


@dataclass
class ModelTally:
    """Per-model yield funnel and usage, updated as samples and evaluations arrive.

    duplicates counts every sample whose program was already registered; copies those that reproduce a
    parent of their own prompt; noops programs with a parent's outputs on the probe instances; cascade_stops
    programs stopped after the probe as clearly worse.
    """

    samples: int = 0
    extracted: int = 0
    compiled: int = 0
    ran: int = 0
    valid: int = 0
    new_best: int = 0
    duplicates: int = 0
    copies: int = 0
    noops: int = 0
    cascade_stops: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class Progress:
    """Running totals for the progress line and the end-of-run summary."""

    started: float = field(default_factory=time.monotonic)
    samples: int = 0
    valid: int = 0
    best_score: float | None = None
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    eval_seconds: float = 0.0
    per_model: dict[str, ModelTally] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def tally(self, model: str) -> ModelTally:
        return self.per_model.setdefault(model, ModelTally())

    def on_completion(self, model: str, completion: Completion, outcome: SampleOutcome) -> None:
        t = self.tally(model)
        t.samples += 1
        t.prompt_tokens += completion.usage.prompt_tokens
        t.completion_tokens += completion.usage.completion_tokens
        t.seconds += completion.usage.seconds
        self.samples += 1
        self.completion_tokens += completion.usage.completion_tokens
        self.llm_seconds += completion.usage.seconds
        if outcome.failure is None:
            t.extracted += 1
            t.compiled += 1
        elif outcome.failure in (FailureKind.SYNTAX_ERROR, FailureKind.WRONG_SIGNATURE):
            t.extracted += 1
            self.count_failure(outcome.failure)
        else:
            self.count_failure(outcome.failure)

    def on_evaluation(self, model: str, result: EvalResult, new_best: bool) -> None:
        t = self.tally(model)
        if result.valid or result.failure in RAN:
            t.ran += 1
        t.noops += result.failure is FailureKind.NOOP
        t.cascade_stops += result.failure is FailureKind.CASCADE_STOP
        if result.valid:
            t.valid += 1
            self.valid += 1
            if self.best_score is None or (result.score is not None and result.score > self.best_score):
                self.best_score = result.score
        else:
            self.count_failure(result.failure or FailureKind.SANDBOX_ERROR)
        if new_best:
            t.new_best += 1

    def on_duplicate(self, model: str, parent: bool = False) -> None:
        """A program already registered: `parent` when it reproduces one of the parents in its prompt."""
        self.tally(model).duplicates += 1
        self.tally(model).copies += parent
        self.count_failure(FailureKind.DUPLICATE)

    def count_failure(self, kind: FailureKind) -> None:
        self.failures[kind.value] = self.failures.get(kind.value, 0) + 1

    def line(self, spent: str = "") -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        def pct(count: int) -> str:
            return f"{100.0 * count / self.samples:.0f}%" if self.samples else "0%"

        best = "-" if self.best_score is None else f"{self.best_score:.6g}"
        tps = self.completion_tokens / self.llm_seconds if self.llm_seconds else 0.0
        extra = f"  spent {spent}" if spent else ""
        noops, dups = self.failures.get(FailureKind.NOOP.value, 0), self.failures.get(FailureKind.DUPLICATE.value, 0)
        return (f"samples {self.samples}  valid {pct(self.valid)}  no-op {pct(noops)}  dup {pct(dups)}  best {best}  "
                f"{tps:.1f} tok/s  {elapsed:.0f}s{extra}")
