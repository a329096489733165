"""`funsearch eval`: judge one candidate file on a split or an instances file, through the sandbox."""
from __future__ import annotations

import inspect
import io
import json
import tokenize
from pathlib import Path

from funsearch.problem.loader import Problem, ProblemError, load_problem
from funsearch.program.extract import extract_function
from funsearch.program.units import parse_failure
from funsearch.records import EvalResult, FailureKind


def instances_from_file(problem: Problem, path: Path) -> list[dict]:
    """Instances from a JSON file in the shared/data schema.

    A problem converts its own schema with `instances_from_json(data)` or `instances_from_json(data, path)`;
    without one the file is a list of instances or an object with an "instances" list.
    """
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ProblemError(f"instances file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(f"{path}: not valid JSON: {exc}") from None
    convert = getattr(problem.module, "instances_from_json", None)
    try:
        if convert is None:
            instances = data if isinstance(data, list) else data["instances"]
        elif len(inspect.signature(convert).parameters) >= 2:  # (data, path): files named relative to it
            instances = convert(data, path)
        else:
            instances = convert(data)
    except Exception as exc:
        raise ProblemError(f"{path}: not instances for {problem.name}: {type(exc).__name__}: {exc}") from None
    if not instances:
        raise ProblemError(f"{path}: holds no instances")
    return list(instances)


def decode_source(data: bytes) -> str | EvalResult:
    """A candidate file's text, decoded as Python decodes source files (UTF-8, or the encoding its coding line
    names), or a SYNTAX_ERROR result when it cannot be: the file is the candidate, so this is its failure."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, UnicodeError, LookupError) as exc:
        return EvalResult.failed(FailureKind.SYNTAX_ERROR, f"the candidate file cannot be decoded: "
                                                           f"{parse_failure(exc)}")


def evaluate_candidate_file(problem_path: Path, candidate_path: Path, split: str | None = None,
                            instances_file: Path | None = None, timeout: float | None = None) -> EvalResult:
    """Extract the evolved function from the file (as from a completion) and evaluate it in the sandbox.
    `timeout`: wall (and CPU) seconds per instance; None: SandboxLimits' default."""
    from funsearch.problem.evaluator import Evaluator
    from funsearch.sandbox.limits import SandboxLimits

    problem = load_problem(problem_path)
    if split is not None and split not in problem.splits:
        raise ProblemError(f"unknown split {split!r}; {problem.name} has {', '.join(problem.splits)}")
    try:
        data = Path(candidate_path).read_bytes()
    except OSError as exc:
        raise ProblemError(f"cannot read candidate file {candidate_path}: {type(exc).__name__}") from None
    instances = instances_from_file(problem, Path(instances_file)) if instances_file else None
    text = decode_source(data)
    if isinstance(text, EvalResult):
        return text
    got = extract_function(text, problem.function_name, problem.parameters)
    if got.source is None:
        return EvalResult.failed(got.failure or FailureKind.NO_CODE, got.message)
    with Evaluator(problem, SandboxLimits() if timeout is None else SandboxLimits(wall_seconds=timeout)) as evaluator:
        return evaluator.evaluate(got.source, split=split, instances=instances)
