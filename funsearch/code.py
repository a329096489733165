"""Turn whatever a model wrote into the evolved function's source, or a classified failure.

Pure: no I/O. A completion is split into *segments* (the header glued to a body-only
continuation, the whole text with fence lines removed, each fenced block), each segment
into top-level *units* (one statement starting at column 0: `def`, `class`, `import`,
an assignment, with its indented lines). Prose lines end a unit and are dropped; a unit
that does not parse loses trailing lines until it does (a truncated tail). The target is
the function of the evolved family (`name`, `name_v0`, `name_v1`, ...) preferring the
requested version (`_v2`), else the last one defined. It is renamed (recursive calls too)
by AST positions, so comments and layout survive; helpers it calls and the segment's
imports are kept.
"""
from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass

from funsearch.records import FailureKind, one_line

_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_DEF = re.compile(r"^(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)")
_STARTER = re.compile(
    r"(?:async[ \t]+def|def|class)[ \t]+[A-Za-z_]\w*|@[A-Za-z_]|import[ \t]+\w|from[ \t]+[\w.]+[ \t]+import[ \t]"
    r"|[A-Za-z_]\w*(?:[ \t]*:[^=\n]+)?[ \t]*=(?!=)"
)
_RANK = {FailureKind.NO_CODE: 0, FailureKind.SYNTAX_ERROR: 1, FailureKind.WRONG_SIGNATURE: 2}


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


@dataclass
class _Unit:
    lines: list[str]
    node: ast.stmt | None = None
    def_name: str | None = None
    error: str = ""
    cut: int = 0


def extract_function(text: str, function_name: str, parameters: tuple[str, ...],
                     header: str | None = None, version: int = 2) -> Extraction:
    """Extract `function_name` from a completion.

    `header` is what the prompt ended with (`def name_v2(...):` and its docstring); it is glued
    in front of a completion whose first line is indented (a body-only continuation).
    `version` is the suffix asked for (`name_v2`); it wins over other versions.
    """
    text = (text or "").replace("\r\n", "\n")
    failures: list[Extraction] = []
    for segment in _segments(text, header):
        result = _from_segment(segment, function_name, tuple(parameters), version)
        if result.source is not None:
            return result
        failures.append(result)
    if not text.strip():
        return Extraction(None, FailureKind.NO_CODE, "empty completion")
    return max(failures, key=lambda f: _RANK[f.failure], default=Extraction(
        None, FailureKind.NO_CODE, "no function definition in the completion"))


def _segments(text: str, header: str | None) -> list[str]:
    lines = text.split("\n")
    out: list[str] = []
    first = next((ln for ln in lines if ln.strip()), "")
    if header is not None and (first[:1] in (" ", "\t") or not first):
        glue = "" if header.endswith("\n") or text.startswith("\n") else "\n"
        out.append(header + glue + text)
    out.append("\n".join(ln for ln in lines if not _FENCE.match(ln)))
    blocks, block = [], None
    for line in lines:
        if _FENCE.match(line):
            if block is None:
                block = []
            else:
                blocks.append(block)
                block = None
        elif block is not None:
            block.append(line)
    if block is not None:
        blocks.append(block)
    out.extend(_dedent(b) for b in reversed(blocks))
    return out


def _dedent(lines: list[str]) -> str:
    indents = [len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()]
    cut = min(indents, default=0)
    return "\n".join(ln[cut:] for ln in lines)


def _from_segment(code: str, name: str, parameters: tuple[str, ...], version: int) -> Extraction:
    units = [_parse_unit(u) for u in _split_units(code.split("\n"))]
    family = re.compile(rf"{re.escape(name)}(?:_v(\d+))?")
    found = [u for u in units if u.def_name and family.fullmatch(u.def_name)]
    parsed = [u for u in found if isinstance(u.node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    wanted = [u for u in parsed if u.def_name == f"{name}_v{version}"]
    if wanted or parsed:
        return _finish((wanted or parsed)[-1], units, name, parameters)
    if found:
        return Extraction(None, FailureKind.SYNTAX_ERROR, one_line(f"{found[-1].def_name}: {found[-1].error}"))
    defs = [u for u in units if isinstance(u.node, ast.FunctionDef)]
    def called_elsewhere(unit: _Unit) -> bool:
        return any(isinstance(n, ast.Name) and n.id == unit.node.name
                   for u in defs if u is not unit for n in ast.walk(u.node))
    roots = [u for u in defs if _params(u.node) == parameters and not called_elsewhere(u)]
    if roots:
        return _finish(roots[-1], units, name, parameters)
    if defs:
        shown = ", ".join(f"{u.node.name}({', '.join(_params(u.node))})" for u in defs[:5])
        return Extraction(None, FailureKind.WRONG_SIGNATURE, one_line(f"no function named {name}_v{version}; found {shown}"))
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


def _finish(target: _Unit, units: list[_Unit], name: str, parameters: tuple[str, ...]) -> Extraction:
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
    parts += [_renamed(u, renames, strip_decorators=False) for u in helpers]
    parts.append(_renamed(target, renames, strip_decorators=True))
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


def _helpers(target: _Unit, units: list[_Unit]) -> list[_Unit]:
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


def _split_units(lines: list[str]) -> list[list[str]]:
    """Group lines into top-level statements; column-0 prose ends a unit and is dropped."""
    units: list[list[str]] = []
    current: list[str] | None = None
    depth, triple, backslash = 0, None, False
    for line in lines:
        if current is not None and (depth or triple or backslash):
            current.append(line)
        elif not line.strip() or line[0] in " \t#":
            if current is None:
                continue
            current.append(line)
        elif _FENCE.match(line) or not _STARTER.match(line):
            current = None
            continue
        elif current is not None and all(ln.startswith("@") or not ln.strip() for ln in current):
            current.append(line)
        else:
            current = [line]
            units.append(current)
            depth, triple = 0, None
        depth, triple = _scan(line, depth, triple)
        backslash = line.rstrip().endswith("\\") and not triple
    return units


def _scan(line: str, depth: int, triple: str | None) -> tuple[int, str | None]:
    """Bracket depth and open triple-quote after `line` (strings and comments skipped)."""
    i, n = 0, len(line)
    while i < n:
        if triple:
            j = line.find(triple, i)
            if j < 0:
                return depth, triple
            i, triple = j + 3, None
            continue
        c = line[i]
        if c == "#":
            break
        if c in "\"'":
            if line.startswith(c * 3, i):
                triple, i = c * 3, i + 3
                continue
            i += 1
            while i < n and line[i] != c:
                i += 2 if line[i] == "\\" else 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        i += 1
    return depth, triple


def _parse_unit(lines: list[str]) -> _Unit:
    """Parse one unit, dropping trailing lines until it parses (a truncated tail)."""
    match = next((m for m in map(_DEF.match, lines) if m), None)
    unit = _Unit(lines=list(lines), def_name=match.group(1) if match else None)
    n = len(lines)
    while n > 0:
        while n > 0 and not lines[n - 1].strip():
            n -= 1
        try:
            unit.node = ast.parse("\n".join(lines[:n])).body[0]
            break
        except (SyntaxError, ValueError, IndexError) as e:
            if not unit.error:
                unit.error = f"{getattr(e, 'msg', str(e))} (line {getattr(e, 'lineno', '?')} of the definition)"
            lineno = getattr(e, "lineno", None) or n
            n = min(n - 1, max(lineno, 1))
    unit.cut = len([ln for ln in lines[n:] if ln.strip()]) if unit.node is not None else 0
    unit.lines = lines[:n]
    return unit


def _renamed(unit: _Unit, renames: dict[str, str], strip_decorators: bool) -> str:
    """The unit's text with names replaced at their AST positions (comments and layout kept)."""
    node = unit.node
    lines = list(unit.lines)
    edits: list[tuple[int, int, int, str]] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id in renames:
            line = lines[n.lineno - 1].encode()
            start = len(line[: n.col_offset].decode(errors="replace"))
            edits.append((n.lineno - 1, start, start + len(n.id), renames[n.id]))
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name in renames:
            m = re.search(rf"\b(?:def|class)[ \t]+({re.escape(n.name)})\b", lines[n.lineno - 1])
            if m:
                edits.append((n.lineno - 1, m.start(1), m.end(1), renames[n.name]))
    for row, start, end, new in sorted(edits, reverse=True):
        lines[row] = lines[row][:start] + new + lines[row][end:]
    first = node.lineno - 1 if strip_decorators and isinstance(node, ast.FunctionDef) else 0
    return "\n".join(lines[first: node.end_lineno]).rstrip()


def rename_function(source: str, old: str, new: str) -> str:
    """Rename the top-level function `old` to `new` in a module, recursive calls included (AST-based)."""
    units = [_parse_unit(u) for u in _split_units(source.split("\n"))]
    if any(u.node is None for u in units) or not any(u.def_name == old for u in units):
        raise ValueError(f"no parseable function named {old} in the source")
    return "\n\n\n".join(_renamed(u, {old: new}, strip_decorators=False) for u in units) + "\n"


def normalise(source: str) -> str:
    """Canonical text for dedupe: the parsed module unparsed, docstrings and comments dropped."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as e:
        raise ValueError(one_line(f"cannot normalise: the source does not parse: {e}")) from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def program_hash(source: str) -> str:
    """sha256 (hex) of `normalise(source)`: equal for programs that differ only in comments, docstrings, layout."""
    return hashlib.sha256(normalise(source).encode()).hexdigest()


def body_length(source: str) -> int:
    """Length in characters of the normalised source (so comments and docstrings cost nothing)."""
    return len(normalise(source))
