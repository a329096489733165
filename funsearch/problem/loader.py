"""Load a problem file: the evolved function, the sandbox driver, the trusted scorer and the splits.

A problem file is trusted code written by the user (it is imported in the harness
process); the *candidates* that replace its evolved function are not, and only
ever run inside the sandbox. See docs/problems.md for how to write one.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from funsearch.problem.markers import EVOLVE_ATTR, RUN_ATTR


class ProblemError(Exception):
    """The problem file cannot be used. The message is one line naming the file and the defect."""


@dataclass(frozen=True)
class Problem:
    """A loaded problem file.

    Attributes:
      path: absolute path of the problem file.
      name: the file's stem ("bin_packing").
      module: the imported (trusted) module.
      function_name: name of the `@funsearch.evolve` function.
      run_name: name of the `@funsearch.run` driver.
      parameters: the evolved function's parameter names, in order.
      signature: the evolved function's signature text, e.g. "(item: float, bins: np.ndarray) -> np.ndarray".
      docstring: the evolved function's docstring ("" when it has none).
      baseline_source: the evolved function's full `def` from the file, without decorators.
      preamble: module docstring plus top-level imports (except `import funsearch`), for prompts.
      splits: named datasets, in the file's order.
      train_split: the split `funsearch run` evolves on.
      sha256: hex sha256 of the problem file's bytes when loaded (its own text, not the files it reads): runs and
        sweep cells record it, and resuming one whose problem file has changed since is refused.
    """

    path: Path
    name: str
    module: ModuleType = field(repr=False, compare=False)
    function_name: str
    run_name: str
    parameters: tuple[str, ...]
    signature: str
    docstring: str
    baseline_source: str
    preamble: str
    splits: tuple[str, ...]
    train_split: str
    sha256: str = ""
    _split_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def load_split(self, name: str) -> list[dict]:
        """Instances of a split (cached). Raises ProblemError for an unknown split or a load failure."""
        if name not in self.splits:
            raise ProblemError(f"{self.path.name}: unknown split {name!r}; splits are {', '.join(self.splits)}")
        if name not in self._split_cache:
            try:
                instances = list(self.module.load_split(name))
            except Exception as exc:  # the user's loader: report, don't crash
                raise ProblemError(f"{self.path.name}: load_split({name!r}) failed: "
                                   f"{type(exc).__name__}: {exc}") from None
            if not instances:
                raise ProblemError(f"{self.path.name}: split {name!r} has no instances")
            self._split_cache[name] = instances
        return self._split_cache[name]

    def score(self, instance: dict, solution: Any) -> float:
        """Trusted score of a raw solution; raises funsearch.InvalidSolution (or anything) when invalid."""
        value = float(self.module.score(instance, solution))
        if not math.isfinite(value):
            raise ValueError(f"score is not finite: {value}")
        return value

    def metrics(self, instances: list[dict], solutions: list, scores: list[float]) -> dict[str, float]:
        """The problem's human metrics over a split; defaults to the mean score."""
        fn = getattr(self.module, "metrics", None)
        if fn is None:
            return {"mean_score": sum(scores) / len(scores)} if scores else {}
        return {str(k): float(v) for k, v in fn(instances, solutions, scores).items()}

    def baselines(self) -> dict[str, Path]:
        """Baseline candidate files: problems/baselines/<name>/*.py next to the problem file."""
        folder = self.path.parent / "baselines" / self.name
        return {p.stem: p for p in sorted(folder.glob("*.py"))} if folder.is_dir() else {}

    def instance_names(self, instances: list[dict]) -> list[str]:
        return [str(inst.get("name", i)) if isinstance(inst, dict) else str(i) for i, inst in enumerate(instances)]


def import_problem_module(path: Path) -> ModuleType:
    """Import a problem file under a private module name. Raises ProblemError with one line on failure."""
    if not path.is_file():
        raise ProblemError(f"problem file not found: {path}")
    module_name = f"funsearch_problem_{path.stem}_{abs(hash(str(path))) % 10**8}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ProblemError(f"{path.name}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise ProblemError(f"{path.name}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ProblemError(f"{path.name}: import failed: {type(exc).__name__}: {exc}") from None
    return module


def _marked(module: ModuleType, attr: str, what: str, path: Path) -> str:
    names = [n for n, v in vars(module).items() if callable(v) and getattr(v, attr, False)
             and getattr(v, "__module__", None) == module.__name__]
    if not names:
        raise ProblemError(f"{path.name}: no {what} function (decorate one with @funsearch.{what})")
    if len(names) > 1:
        raise ProblemError(f"{path.name}: more than one @funsearch.{what} function: {', '.join(names)}")
    return names[0]


def _function_node(tree: ast.Module, name: str) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise ProblemError(f"no top-level def {name}")


def describe_source(text: str, function_name: str) -> dict[str, str]:
    """Pieces of the problem file's text that prompts need: baseline def, signature, docstring, preamble."""
    tree = ast.parse(text)
    node = _function_node(tree, function_name)
    lines = text.splitlines()
    baseline = "\n".join(lines[node.lineno - 1: node.end_lineno])
    args = ast.unparse(node.args)
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    preamble_parts = []
    module_doc = ast.get_docstring(tree, clean=False)
    if module_doc is not None:
        preamble_parts.append(f'"""{module_doc}"""')
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names = {a.name for a in stmt.names}
            if isinstance(stmt, ast.Import) and names == {"funsearch"}:
                continue
            if isinstance(stmt, ast.ImportFrom) and (stmt.module or "").startswith("funsearch"):
                continue
            preamble_parts.append(ast.unparse(stmt))
    return {
        "baseline_source": baseline,
        "signature": f"({args}){returns}",
        "docstring": ast.get_docstring(node) or "",
        "preamble": "\n".join(preamble_parts),
    }


def load_problem(path: str | Path) -> Problem:
    """Load and validate the shape of a problem file. Raises ProblemError (one line) on any defect."""
    path = Path(path).resolve()
    module = import_problem_module(path)
    function_name = _marked(module, EVOLVE_ATTR, "evolve", path)
    run_name = _marked(module, RUN_ATTR, "run", path)
    for required in ("score", "load_split"):
        if not callable(getattr(module, required, None)):
            raise ProblemError(f"{path.name}: missing function {required}()")
    splits = tuple(getattr(module, "SPLITS", ()) or ())
    if not splits:
        raise ProblemError(f"{path.name}: SPLITS is missing or empty (a tuple of split names)")
    train_split = getattr(module, "TRAIN_SPLIT", splits[0])
    if train_split not in splits:
        raise ProblemError(f"{path.name}: TRAIN_SPLIT {train_split!r} is not in SPLITS")
    text = path.read_bytes()
    pieces = describe_source(text.decode(), function_name)
    parameters = tuple(inspect.signature(getattr(module, function_name)).parameters)
    return Problem(path=path, name=path.stem, module=module, function_name=function_name, run_name=run_name,
                   parameters=parameters, signature=pieces["signature"], docstring=pieces["docstring"],
                   baseline_source=pieces["baseline_source"], preamble=pieces["preamble"],
                   splits=splits, train_split=train_split, sha256=hashlib.sha256(text).hexdigest())
