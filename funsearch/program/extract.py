"""Turn whatever a model wrote into the evolved function's source, or a classified failure.

Pure: no I/O. The completion is scanned into segments and top-level units (program/units.py).
The target is the function of the evolved family (`name`, `name_v0`, `name_v1`, ...) preferring the
requested version (`_v2`), else the last one defined. It is renamed (recursive calls too) by AST
positions (program/canonical.py), so comments and layout survive; helpers it calls and the segment's
imports are kept.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from funsearch.messages import one_line
from funsearch.program.canonical import renamed
from funsearch.program.units import Unit, parse_failure, parse_units, segments
from funsearch.records import FailureKind

_RANK = {FailureKind.NO_CODE: 0, FailureKind.SYNTAX_ERROR: 1, FailureKind.WRONG_SIGNATURE: 2}
MAX_TEXT_CHARS = 1 << 20  # a completion or candidate file longer than this is refused unread (as the evaluator does)


@dataclass(frozen=True)
class Extraction:
    """What `extract_function` made of a completion.

    Attributes:
      source: module-level code (imports, helpers, then `def <function_name>(...)`), or None on failure.
      failure: NO_CODE, SYNTAX_ERROR or WRONG_SIGNATURE when source is None, else None.
      message: one line: the failure's reason, or notes on what was repaired (renamed, tail cut...).
      helpers: names of the top-level helpers (functions, classes, constants) kept because the target uses them.
    """

    source: str | None
    failure: FailureKind | None
    message: str
    helpers: tuple[str, ...] = ()


def extract_function(text: str, function_name: str, parameters: tuple[str, ...],
                     header: str | None = None, version: int = 2) -> Extraction:
    """Extract `function_name` from a completion.

    `header` is what the prompt ended with (`def name_v2(...):` and its docstring); it is glued
    in front of a completion whose first line is indented (a body-only continuation).
    `version` is the suffix asked for (`name_v2`); it wins over other versions.
    """
    text = (text or "").replace("\r\n", "\n")
    if len(text) > MAX_TEXT_CHARS:
        return Extraction(None, FailureKind.SYNTAX_ERROR, f"the text exceeds {MAX_TEXT_CHARS} characters")
    try:
        return _extract(text, function_name, tuple(parameters), header, version)
    except Exception as exc:  # the harness's own parsing, renaming or unparsing gave up (depth, size, encoding)
        return Extraction(None, FailureKind.SYNTAX_ERROR, one_line(f"cannot extract: {parse_failure(exc)}"))


def _extract(text: str, function_name: str, parameters: tuple[str, ...], header: str | None,
             version: int) -> Extraction:
    failures: list[Extraction] = []
    for segment in segments(text, header):
        result = _from_segment(segment, function_name, parameters, version)
        if result.source is not None:
            return result
        failures.append(result)
    if not text.strip():
        return Extraction(None, FailureKind.NO_CODE, "empty completion")
    return max(failures, key=lambda f: _RANK[f.failure], default=Extraction(
        None, FailureKind.NO_CODE, "no function definition in the completion"))


def _from_segment(code: str, name: str, parameters: tuple[str, ...], version: int) -> Extraction:
    units = parse_units(code)
    family = re.compile(rf"{re.escape(name)}(?:_v(\d+))?")
    found = [u for u in units if u.def_name and family.fullmatch(u.def_name)]
    parsed = [u for u in found if isinstance(u.node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    wanted = [u for u in parsed if u.def_name == f"{name}_v{version}"]
    if wanted or parsed:
        return _finish((wanted or parsed)[-1], units, name, parameters)
    if found:
        return Extraction(None, FailureKind.SYNTAX_ERROR, one_line(f"{found[-1].def_name}: {found[-1].error}"))
    defs = [u for u in units if isinstance(u.node, ast.FunctionDef)]
    def called_elsewhere(unit: Unit) -> bool:
        return any(isinstance(n, ast.Name) and n.id == unit.node.name
                   for u in defs if u is not unit for n in ast.walk(u.node))
    roots = [u for u in defs if _params(u.node) == parameters and not called_elsewhere(u)]
    if roots:
        return _finish(roots[-1], units, name, parameters)
    if defs:
        shown = ", ".join(f"{u.node.name}({', '.join(_params(u.node))})" for u in defs[:5])
        return Extraction(None, FailureKind.WRONG_SIGNATURE,
                          one_line(f"no function named {name}_v{version}; found {shown}"))
    broken = [u for u in units if u.def_name]
    if broken:
        return Extraction(None, FailureKind.SYNTAX_ERROR, one_line(f"{broken[-1].def_name}: {broken[-1].error}"))
    return Extraction(None, FailureKind.NO_CODE, "no function definition in the completion")


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """Parameter names as written: positional ones, then `*args`, keyword-only ones, `**kwargs`."""
    a = node.args
    names = [p.arg for p in a.posonlyargs + a.args]
    names += [f"*{a.vararg.arg}"] if a.vararg else []
    names += [p.arg for p in a.kwonlyargs]
    names += [f"**{a.kwarg.arg}"] if a.kwarg else []
    return tuple(names)


def _finish(target: Unit, units: list[Unit], name: str, parameters: tuple[str, ...]) -> Extraction:
    node = target.node
    got = _params(node)
    if got != parameters:
        msg = f"{node.name}({', '.join(got)}) does not take ({', '.join(parameters)})"
        return Extraction(None, FailureKind.WRONG_SIGNATURE, one_line(msg))
    if isinstance(node, ast.AsyncFunctionDef):
        return Extraction(None, FailureKind.WRONG_SIGNATURE, one_line(f"{node.name} is async"))
    real = [s for s in node.body if not _is_filler(s)]
    if not real and target.cut:
        msg = f"{node.name}: {target.error}; nothing is left of the body once the tail is cut"
        return Extraction(None, FailureKind.SYNTAX_ERROR, one_line(msg))
    if not real:
        return Extraction(None, FailureKind.NO_CODE, one_line(f"{node.name} has an empty body"))
    helpers = _helpers(target, units)
    renames = {node.name: name}
    if any(_defined(h.node) & {name} for h in helpers) and node.name != name:
        renames[name] = f"{name}_base"
    notes = [f"renamed {node.name} to {name}"] if node.name != name else []
    defined = set().union(*(_defined(u.node) for u in units if u.node is not None))
    family = re.compile(rf"{re.escape(name)}(?:_v\d+)?")
    missing = sorted({n.id for u in [target, *helpers] for n in ast.walk(u.node) if isinstance(n, ast.Name)
                      and family.fullmatch(n.id) and n.id not in defined and n.id != node.name})
    notes += [f"calls {m}, which the completion does not define" for m in missing]
    notes += [f"cut {u.cut} unparseable trailing lines" for u in [target, *helpers] if u.cut]
    imports, seen = [], set()
    for u in units:
        if isinstance(u.node, (ast.Import, ast.ImportFrom)) and ast.unparse(u.node) not in seen:
            seen.add(ast.unparse(u.node))
            imports.append("\n".join(u.lines).rstrip())
    parts = ["\n".join(imports)] if imports else []
    parts += [renamed(u, renames, strip_decorators=False) for u in helpers]
    parts.append(renamed(target, renames, strip_decorators=True))
    names = tuple(renames.get(n, n) for h in helpers for n in sorted(_defined(h.node)))
    return Extraction("\n\n\n".join(parts) + "\n", None, one_line("; ".join(notes)), names)


def _is_filler(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and (
        isinstance(stmt.value.value, str) or stmt.value.value is Ellipsis)


def _defined(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}


def _helpers(target: Unit, units: list[Unit]) -> list[Unit]:
    """Top-level definitions the target uses, transitively (the last definition of a name wins)."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    by_name = {n: u for u in units if isinstance(u.node, kinds) and u is not target for n in _defined(u.node)}
    by_name.pop(target.node.name, None)
    keep, todo = [], [target]
    while todo:
        unit = todo.pop()
        for n in ast.walk(unit.node):
            dep = by_name.get(n.id) if isinstance(n, ast.Name) else None
            if dep is not None and all(dep is not k for k in keep):
                keep.append(dep)
                todo.append(dep)
    return sorted(keep, key=lambda u: units.index(u))


