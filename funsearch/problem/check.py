"""`funsearch check`: list every defect of a problem file, one line each.

The checks, in order (later ones need the earlier ones to pass):
  1. the file exists and imports;
  2. its shape: one @funsearch.evolve function with a docstring, one @funsearch.run driver, score(),
     load_split(), a non-empty SPLITS and a TRAIN_SPLIT among them;
  3. every split loads and has instances;
  4. the baseline (the evolve function's own body) runs on the train split in the sandbox, exactly as an LLM
     candidate would, and its solutions are strict JSON that score() accepts;
  5. score() rejects corrupted solutions: the baseline's solution for the first train instance with its first
     element replaced by None, and None itself. (Dropping an element is no generic corruption: a subset of a
     cap set is still a cap set.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from funsearch.messages import one_line
from funsearch.problem.loader import Problem, ProblemError, import_problem_module, load_problem
from funsearch.problem.markers import EVOLVE_ATTR, RUN_ATTR
from funsearch.records import EvalResult, FailureKind

Evaluate = Callable[[Problem, str, str], EvalResult]


def sandbox_evaluator(timeout: float) -> Evaluate:
    """Evaluate a source on a split through the sandboxed Evaluator (the path LLM candidates take)."""
    def evaluate(problem: Problem, source: str, split: str) -> EvalResult:
        from funsearch.problem.evaluator import Evaluator
        from funsearch.sandbox.limits import SandboxLimits

        with Evaluator(problem, limits=SandboxLimits(wall_seconds=timeout, cpu_seconds=timeout)) as evaluator:
            return evaluator.evaluate(source, split=split)
    return evaluate


def check_problem(path: str | Path, timeout: float = 10.0, evaluate: Evaluate | None = None) -> list[str]:
    """Each defect of the problem file as one line; [] when the file is fine.

    `timeout`: sandbox wall/CPU seconds for the baseline's run on the train split; `evaluate` replaces the
    sandboxed evaluation (for callers that already hold an evaluator)."""
    path = Path(path).resolve()
    try:
        module = import_problem_module(path)
    except ProblemError as exc:
        return [str(exc)]
    defects = _shape_defects(module, path.name)
    if defects:
        return defects
    try:
        problem = load_problem(path)
    except ProblemError as exc:
        return [str(exc)]
    loaded: dict[str, list[dict]] = {}
    for split in problem.splits:
        try:
            loaded[split] = problem.load_split(split)
        except ProblemError as exc:
            defects.append(str(exc))
    if problem.train_split in loaded:
        defects += _baseline_defects(problem, loaded[problem.train_split], evaluate or sandbox_evaluator(timeout))
    return list(dict.fromkeys(defects))


def _marked(module, attr: str) -> list[str]:
    return [n for n, v in vars(module).items() if callable(v) and getattr(v, attr, False)
            and getattr(v, "__module__", None) == module.__name__]


def _shape_defects(module, filename: str) -> list[str]:
    defects = []
    evolved = _marked(module, EVOLVE_ATTR)
    if not evolved:
        defects.append(f"{filename}: no evolve function (decorate one with @funsearch.evolve)")
    elif len(evolved) > 1:
        defects.append(f"{filename}: more than one @funsearch.evolve function: {', '.join(evolved)}")
    elif not (getattr(module, evolved[0]).__doc__ or "").strip():
        defects.append(f"{filename}: evolve function {evolved[0]}() has no docstring (the model is shown it)")
    runs = _marked(module, RUN_ATTR)
    if not runs:
        defects.append(f"{filename}: no run driver (decorate one with @funsearch.run)")
    elif len(runs) > 1:
        defects.append(f"{filename}: more than one @funsearch.run function: {', '.join(runs)}")
    for required in ("score", "load_split"):
        if not callable(getattr(module, required, None)):
            defects.append(f"{filename}: missing function {required}()")
    splits = getattr(module, "SPLITS", None)
    if not splits or not isinstance(splits, (tuple, list)):
        defects.append(f"{filename}: SPLITS is missing or empty (a tuple of split names)")
    elif getattr(module, "TRAIN_SPLIT", splits[0]) not in splits:
        defects.append(f"{filename}: TRAIN_SPLIT {module.TRAIN_SPLIT!r} is not in SPLITS")
    return defects


def _baseline_defects(problem: Problem, instances: list[dict], evaluate: Evaluate) -> list[str]:
    name = problem.path.name
    split = problem.train_split
    try:
        result = evaluate(problem, problem.baseline_source, split)
    except Exception as exc:  # the harness could not run it at all
        return [f"{name}: the baseline could not be evaluated in the sandbox: "
                f"{one_line(f'{type(exc).__name__}: {exc}')}"]
    defects = []
    if result.failure is FailureKind.BAD_OUTPUT or result.failure is FailureKind.OUTPUT_TOO_LARGE:
        defects.append(f"{name}: the run driver returns non-JSON-able data on split {split!r}: {result.message}")
    elif result.failure is FailureKind.INVALID_SOLUTION:
        defects.append(f"{name}: score rejects the baseline's solution on split {split!r}: {result.message}")
    elif not result.valid:
        kind = result.failure.value if result.failure else "invalid"
        return [f"{name}: the baseline fails in the sandbox on split {split!r}: {kind}: {result.message}"]
    # The driver terminates on the baseline: run it here (trusted code: the user's own file) for a raw solution.
    instance = instances[0]
    try:
        raw = getattr(problem.module, problem.run_name)(instance)
        solution = json.loads(json.dumps(raw, allow_nan=False))
        problem.score(instance, solution)
    except Exception as exc:
        if defects:  # already reported from the sandbox run
            return defects
        return [f"{name}: the baseline's solution fails outside the sandbox: "
                f"{one_line(f'{type(exc).__name__}: {exc}')}"]
    for how, corrupted in corruptions(solution):
        try:
            problem.score(instance, corrupted)
        except Exception:
            continue
        defects.append(f"{name}: score accepts a corrupted solution ({how})")
        break
    return defects


def corruptions(solution: Any) -> list[tuple[str, Any]]:
    """Generic corruptions of a JSON solution that any sound score() must reject."""
    out: list[tuple[str, Any]] = []
    if isinstance(solution, list) and solution:
        out.append(("first element replaced by None", [None] + solution[1:]))
    elif isinstance(solution, dict) and solution:
        key = next(iter(solution))
        out.append((f"value of {key!r} replaced by None", {**solution, key: None}))
    out.append(("solution replaced by None", None))
    return out
