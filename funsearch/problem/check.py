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
A warning (not a defect): the driver does not validate what the evolved function returns. The heuristic: on
the first train instance, a candidate returns the baseline's own output with every number replaced by NaN, and
then by a string (same shape, same containers); a driver that validates refuses both (bad_output, or any
failure); one that turns either into a solution score() accepts would rank garbage (np.argmax takes NaN and
strings), so `inspect_problem` warns.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, NamedTuple

from funsearch.messages import one_line
from funsearch.problem.loader import Problem, ProblemError, import_problem_module, load_problem
from funsearch.problem.markers import EVOLVE_ATTR, RUN_ATTR
from funsearch.program.canonical import rename_function
from funsearch.records import EvalResult, FailureKind

Evaluate = Callable[..., EvalResult]  # (problem, source, split, instances=None) -> EvalResult


class Inspection(NamedTuple):
    """What `funsearch check` found: defects (the file does not work) and warnings (it works, but see this)."""

    defects: list[str]
    warnings: list[str]


class _SandboxEvaluate:
    """Evaluate a source on a split or instances through one sandboxed Evaluator (the path LLM candidates
    take), started on first use; `close()` stops it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.evaluator = None

    def __call__(self, problem: Problem, source: str, split: str, instances: list | None = None) -> EvalResult:
        from funsearch.problem.evaluator import Evaluator
        from funsearch.sandbox.limits import SandboxLimits

        if self.evaluator is None:
            self.evaluator = Evaluator(problem, limits=SandboxLimits(wall_seconds=self.timeout))
        return self.evaluator.evaluate(source, split=split, instances=instances)

    def close(self) -> None:
        if self.evaluator is not None:
            self.evaluator.close()


def check_problem(path: str | Path, timeout: float | None = None, evaluate: Evaluate | None = None) -> list[str]:
    """Each defect of the problem file as one line; [] when the file is fine (see `inspect_problem`)."""
    return inspect_problem(path, timeout, evaluate).defects


def inspect_problem(path: str | Path, timeout: float | None = None, evaluate: Evaluate | None = None) -> Inspection:
    """The problem file's defects and warnings, each one line.

    `timeout`: sandbox wall seconds per instance (default: SandboxLimits'); `evaluate` replaces the
    sandboxed evaluation (for callers that already hold an evaluator)."""
    path = Path(path).resolve()
    try:
        module = import_problem_module(path)
    except ProblemError as exc:
        return Inspection([str(exc)], [])
    defects = _shape_defects(module, path.name)
    if defects:
        return Inspection(defects, [])
    try:
        problem = load_problem(path)
    except ProblemError as exc:
        return Inspection([str(exc)], [])
    loaded: dict[str, list[dict]] = {}
    for split in problem.splits:
        try:
            loaded[split] = problem.load_split(split)
        except ProblemError as exc:
            defects.append(str(exc))
    warnings: list[str] = []
    if problem.train_split in loaded:
        from funsearch.sandbox.limits import SandboxLimits

        own = _SandboxEvaluate(timeout or SandboxLimits().wall_seconds) if evaluate is None else None
        try:
            found = _baseline_defects(problem, loaded[problem.train_split], evaluate or own)
            defects += found
            if not found:
                warnings += validation_warnings(problem, loaded[problem.train_split][0], evaluate or own)
        finally:
            if own is not None:
                own.close()
    return Inspection(list(dict.fromkeys(defects)), warnings)


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


POISONS = (("NaN", 'float("nan")'), ("strings", '"x"'))

_PROBE = '''
{baseline}


def _funsearch_poisoned(value, fill):
    import numpy
    if isinstance(value, numpy.ndarray):
        return numpy.full(value.shape, fill)
    if isinstance(value, (list, tuple)):
        return type(value)(_funsearch_poisoned(v, fill) for v in value)
    if isinstance(value, dict):
        return {{k: _funsearch_poisoned(v, fill) for k, v in value.items()}}
    if isinstance(value, (int, float, numpy.number, numpy.bool_)):
        return fill
    return value


def {name}(*args, **kwargs):
    return _funsearch_poisoned(_funsearch_baseline(*args, **kwargs), {fill})
'''


def poisoned_source(problem: Problem, fill: str) -> str:
    """A candidate that returns the baseline's output with every number replaced by `fill` (a Python expression)."""
    baseline = rename_function(problem.baseline_source, problem.function_name, "_funsearch_baseline")
    return _PROBE.format(baseline=baseline.rstrip(), name=problem.function_name, fill=fill)


def validation_warnings(problem: Problem, instance: dict, evaluate: Evaluate) -> list[str]:
    """A warning when the driver turns NaN or strings from the evolved function into a solution score() accepts."""
    name, fn = problem.path.name, problem.function_name
    for label, fill in POISONS:
        try:
            result = evaluate(problem, poisoned_source(problem, fill), problem.train_split, instances=[instance])
        except Exception:  # the harness could not run it: nothing to conclude
            continue
        if result.valid:
            return [f"{name}: the run driver does not validate what {fn}() returns: with {fn}() returning "
                    f"{label} (the baseline's output, every number replaced) score() accepted its solution on "
                    f"{problem.instance_names([instance])[0]}; check it with funsearch.finite_numbers (or raise "
                    f"funsearch.BadOutput): see docs/problems.md"]
    return []
