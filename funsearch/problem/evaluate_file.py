"""`funsearch eval`: judge one candidate file on a split or an instances file, through the sandbox."""
from __future__ import annotations

import inspect
import json
from pathlib import Path

from funsearch.problem.loader import Problem, ProblemError, load_problem
from funsearch.program.extract import extract_function
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


def evaluate_candidate_file(problem_path: Path, candidate_path: Path, split: str | None = None,
                            instances_file: Path | None = None, timeout: float = 10.0) -> EvalResult:
    """Extract the evolved function from the file (as from a completion) and evaluate it in the sandbox."""
    from funsearch.problem.evaluator import Evaluator
    from funsearch.sandbox.limits import SandboxLimits

    problem = load_problem(problem_path)
    if split is not None and split not in problem.splits:
        raise ProblemError(f"unknown split {split!r}; {problem.name} has {', '.join(problem.splits)}")
    try:
        text = Path(candidate_path).read_text()
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as exc:
        raise ProblemError(f"cannot read candidate file {candidate_path}: {type(exc).__name__}") from None
    instances = instances_from_file(problem, Path(instances_file)) if instances_file else None
    got = extract_function(text, problem.function_name, problem.parameters)
    if got.source is None:
        return EvalResult.failed(got.failure or FailureKind.NO_CODE, got.message)
    with Evaluator(problem, SandboxLimits(wall_seconds=timeout)) as evaluator:
        return evaluator.evaluate(got.source, split=split, instances=instances)
