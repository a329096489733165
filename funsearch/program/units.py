"""Scanning raw completions: segments (header glued, fences removed, fenced blocks) and top-level units.

Pure. A completion is split into *segments* (the header glued to a body-only continuation, the whole
text with fence lines removed, each fenced block), each segment into top-level *units* (one statement
starting at column 0: `def`, `class`, `import`, an assignment, with its indented lines). Prose lines end a
unit and are dropped; a unit that does not parse loses trailing lines until it does (a truncated tail).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from funsearch.messages import one_line

_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_DEF = re.compile(r"^(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)")
_STARTER = re.compile(
    r"(?:async[ \t]+def|def|class)[ \t]+[A-Za-z_]\w*|@[A-Za-z_]|import[ \t]+\w|from[ \t]+[\w.]+[ \t]+import[ \t]"
    r"|[A-Za-z_]\w*(?:[ \t]*:[^=\n]+)?[ \t]*=(?!=)"
)


@dataclass
class Unit:
    """One top-level statement: its lines (tail cut), parsed node, `def` name, parse error and lines cut."""

    lines: list[str]
    node: ast.stmt | None = None
    def_name: str | None = None
    error: str = ""
    cut: int = 0


def segments(text: str, header: str | None) -> list[str]:
    """The texts to search, in order: header + body-only text, text without fence lines, fenced blocks (last first)."""
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


def split_units(lines: list[str]) -> list[list[str]]:
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


def parse_unit(lines: list[str]) -> Unit:
    """Parse one unit, dropping trailing lines until it parses (a truncated tail)."""
    match = next((m for m in map(_DEF.match, lines) if m), None)
    unit = Unit(lines=list(lines), def_name=match.group(1) if match else None)
    n = len(lines)
    while n > 0:
        while n > 0 and not lines[n - 1].strip():
            n -= 1
        try:
            unit.node = ast.parse("\n".join(lines[:n])).body[0]
            break
        except (SyntaxError, ValueError, IndexError) as e:
            if not unit.error:
                where = getattr(e, "lineno", None)
                unit.error = f"{e.msg} (line {where} of the definition)" if isinstance(e, SyntaxError) and where \
                    else parse_failure(e)
            lineno = getattr(e, "lineno", None) or n
            n = min(n - 1, max(lineno, 1))
        except Exception as e:  # RecursionError, MemoryError...: nesting or size, not a truncated tail
            unit.error = unit.error or parse_failure(e)
            n = 0
    unit.cut = len([ln for ln in lines[n:] if ln.strip()]) if unit.node is not None else 0
    unit.lines = lines[:n]
    return unit


def parse_failure(exc: BaseException) -> str:
    """One line for why Python's parser refused a text (any exception it raised: too deep, too large, NUL...)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply (RecursionError)"
    if isinstance(exc, MemoryError):
        return "too large or nested too deeply for the parser (MemoryError)"
    if isinstance(exc, SyntaxError):
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return one_line(f"{where}{exc.msg}")
    return one_line(f"{type(exc).__name__}: {exc}")


def parse_units(code: str) -> list[Unit]:
    """Every top-level unit of `code`, parsed (see `split_units` and `parse_unit`)."""
    return [parse_unit(u) for u in split_units(code.split("\n"))]
