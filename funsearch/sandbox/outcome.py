"""Turn a fork server's reply (untrusted child records + how the child ended) into per-instance
raw outcomes: a decoded solution to score, or a failure class with one line. Pure; no scoring here."""
from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

from funsearch.messages import one_line
from funsearch.records import FailureKind
from funsearch.sandbox.child import END_LINE
from funsearch.sandbox.limits import SandboxLimits
from funsearch.sandbox.wire import WireError, decode_strict

_CHILD_KINDS = {
    "runtime_error": FailureKind.RUNTIME_ERROR, "memory_error": FailureKind.MEMORY,
    "bad_output": FailureKind.BAD_OUTPUT, "output_too_large": FailureKind.OUTPUT_TOO_LARGE,
    "sandbox_error": FailureKind.SANDBOX_ERROR,
}


@dataclass(frozen=True)
class RawOutcome:
    """One instance before scoring.

    Attributes:
      solution: the decoded solution (plain JSON values) when the child produced one.
      failure: failure class when it did not (then `solution` is None).
      message: one line for the failure.
      seconds: the child's own timing of the driver call (untrusted, clamped to >= 0).
    """

    solution: Any = None
    failure: FailureKind | None = None
    message: str = ""
    seconds: float = 0.0


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _ending(exit_code: int, timed_out: bool, overflow: bool, cpu: float, stdout: str,
            limits: SandboxLimits, n: int) -> tuple[FailureKind, str]:
    """Why the child stopped before sending every record (of n)."""
    if overflow:
        return FailureKind.OUTPUT_TOO_LARGE, f"solutions exceed the cap of {limits.output_bytes} bytes"
    if timed_out:
        return FailureKind.TIMEOUT, (f"wall time limit of {limits.wall_seconds:g}s per instance exceeded; "
                                     "process group killed")
    if exit_code < 0:
        sig = -exit_code
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= limits.cpu_limit(n)):
            return FailureKind.TIMEOUT, (f"CPU time limit of {limits.cpu_seconds:g}s per instance exceeded "
                                         f"({limits.cpu_limit(n)}s for {n} instances)")
        tail = one_line(stdout[-200:], 200) if stdout.strip() else ""
        return FailureKind.CRASH, f"killed by {_signal_name(sig)}" + (f": {tail}" if tail else "")
    return FailureKind.RUNTIME_ERROR, f"exited with status {exit_code} before returning every solution"


def interpret(results: bytes, n: int, exit_code: int, timed_out: bool, overflow: bool, cpu: float,
              stdout: str, limits: SandboxLimits) -> list[RawOutcome]:
    """Per-instance raw outcomes for n instances. Records must come in order 0, 1, ... and stop at
    the first failure; anything else is BAD_OUTPUT. Instances never reached get the stopping failure."""
    outcomes: list[RawOutcome] = []
    stop: tuple[FailureKind, str] | None = None
    if len(results) > limits.output_bytes + 65536 + 256 * max(1, n) or overflow:
        stop = (FailureKind.OUTPUT_TOO_LARGE, f"solutions exceed the cap of {limits.output_bytes} bytes")
    lines = [] if stop else results.split(b"\n")
    remainder = lines[-1] if lines else b""
    for raw in lines[:-1]:
        if raw == END_LINE[:-1]:
            if len(outcomes) < n and stop is None:
                stop = (FailureKind.BAD_OUTPUT, f"the child ended after {len(outcomes)} of {n} solutions")
            break
        if len(outcomes) >= n:
            stop = (FailureKind.BAD_OUTPUT, f"more result records than the {n} instances")
            break
        try:
            record = decode_strict(raw)
            if not isinstance(record, dict) or record.get("i") != len(outcomes):
                raise WireError("result record out of order or not an object")
            seconds = record.get("t", 0.0)
            seconds = float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else 0.0
        except WireError as exc:
            stop = (FailureKind.BAD_OUTPUT, f"result record {len(outcomes)}: {exc}")
            break
        if "err" in record:
            kind = _CHILD_KINDS.get(record.get("err"), FailureKind.BAD_OUTPUT)
            outcomes.append(RawOutcome(failure=kind, message=one_line(str(record.get("msg", ""))), seconds=seconds))
            stop = (kind, "")
            break
        if "s" not in record:
            stop = (FailureKind.BAD_OUTPUT, f"result record {len(outcomes)} has no solution")
            break
        outcomes.append(RawOutcome(solution=record["s"], seconds=seconds))
    if len(outcomes) < n and stop is None:
        if remainder and exit_code == 0 and not timed_out:
            stop = (FailureKind.BAD_OUTPUT, f"result record {len(outcomes)} is truncated")
        else:
            stop = _ending(exit_code, timed_out, overflow, cpu, stdout, limits, n)
    if stop is not None:
        # the failed instance: the last record when it was an error record, else the first one missing (which
        # carries the reason); every later one names it
        failed = len(outcomes) - 1 if outcomes and outcomes[-1].failure is not None else len(outcomes)
        while len(outcomes) < n:
            message = stop[1] if len(outcomes) == failed else not_run(failed, n)
            outcomes.append(RawOutcome(failure=stop[0], message=one_line(message)))
    return outcomes


def not_run(failed: int, n: int) -> str:
    """The message of an instance after the failed one (`failed`: its 0-based position; said 1-based, of n)."""
    return f"not run: instance {failed + 1} of {n} failed first"
