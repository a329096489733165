"""Plain records shared across the package: failure classes and evaluation results.

Pure Python, no I/O: imported by the pure core, the sandbox, the orchestrator and the store, so it lives at
the top of the package rather than in any one of them.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from funsearch.messages import one_line


class FailureKind(str, enum.Enum):
    """Why a sample did not become a valid program. Recorded for every sample."""

    NO_CODE = "no_code"                    # the completion holds no function definition at all
    SYNTAX_ERROR = "syntax_error"          # code found but it does not parse
    WRONG_SIGNATURE = "wrong_signature"    # a function, but not with the evolved function's parameters
    DUPLICATE = "duplicate"                # same normalised AST as a program already scored (not re-run)
    RUNTIME_ERROR = "runtime_error"        # the candidate raised (or called exit) inside the sandbox
    TIMEOUT = "timeout"                    # wall or CPU deadline hit; the process group was killed
    MEMORY = "memory_error"                # address-space limit hit (MemoryError or failed allocation)
    CRASH = "crash"                        # the child died from a signal (segfault, abort, ...)
    OUTPUT_TOO_LARGE = "output_too_large"  # the solution exceeded the byte cap
    BAD_OUTPUT = "bad_output"              # not strict JSON, NaN/inf, or not the problem's shape
    INVALID_SOLUTION = "invalid_solution"  # the trusted score() rejected the solution
    SANDBOX_ERROR = "sandbox_error"        # the harness could not run the candidate (not its fault)
    PROPOSER_ERROR = "proposer_error"      # the model call failed (server down, actor crashed, hung past its timeout)
    NOOP = "noop"                          # new text, but the same outputs as a parent on the probe instances
    CASCADE_STOP = "cascade_stop"          # valid on the probe instances but clearly worse than its parents there


@dataclass(frozen=True)
class InstanceOutcome:
    """Result of one candidate on one instance.

    Attributes:
      name: instance name from the dataset.
      score: trusted score (higher is better), or None when the instance failed.
      failure: failure class, or None on success.
      message: one line (at most a few hundred characters) explaining a failure.
      seconds: wall seconds the sandbox child spent on this instance.
      fingerprint: hash of the raw solution (16 hex digits; "" when the instance failed): equal fingerprints
        mean equal outputs, so a program whose fingerprints equal its parent's behaves like it.
    """

    name: str
    score: float | None
    failure: FailureKind | None = None
    message: str = ""
    seconds: float = 0.0
    fingerprint: str = ""


@dataclass(frozen=True)
class EvalResult:
    """Result of one candidate over one split.

    Attributes:
      valid: True when every instance produced a solution that score() accepted.
      score: mean of the per-instance scores when valid, else None.
      per_instance: the per-instance outcomes, in dataset order.
      failure: the first failure class met, or None.
      message: one-line description of that failure.
      seconds: wall seconds for the whole evaluation (fork to last score).
      cpu_seconds: CPU seconds the sandbox child used (user + system), for the cost ledger.
      metrics: the problem's human metrics over the split (e.g. {"excess_bins_pct": 4.23}); empty when invalid.
    """

    valid: bool
    score: float | None
    per_instance: tuple[InstanceOutcome, ...] = ()
    failure: FailureKind | None = None
    message: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Per-instance output fingerprints ("" where an instance failed): the program's observed behaviour."""
        return tuple(o.fingerprint for o in self.per_instance)

    @property
    def signature(self) -> tuple[float, ...]:
        """Per-instance scores: the database clusters programs by this."""
        return tuple(float(o.score) for o in self.per_instance if o.score is not None)

    @classmethod
    def failed(cls, failure: FailureKind, message: str, seconds: float = 0.0) -> "EvalResult":
        return cls(valid=False, score=None, failure=failure, message=one_line(message), seconds=seconds)

    def to_json(self) -> dict:
        """The `funsearch eval --json` object (and the run store's evaluation row)."""
        return {
            "valid": self.valid,
            "score": self.score if self.score is None or math.isfinite(self.score) else None,
            "metrics": dict(self.metrics),
            "error": None if self.failure is None else {"kind": self.failure.value, "message": self.message},
            "per_instance": [
                {"name": o.name, "score": o.score,
                 "error": None if o.failure is None else {"kind": o.failure.value, "message": o.message},
                 "seconds": round(o.seconds, 6), "fingerprint": o.fingerprint}
                for o in self.per_instance
            ],
            "seconds": round(self.seconds, 6),
            "cpu_seconds": round(self.cpu_seconds, 6),
        }

