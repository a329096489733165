"""AST-level program text: renaming by AST positions, normalisation, the dedupe hash and length.

Pure. Renaming edits names at their AST positions, so comments, strings and layout survive.
`normalise` is the canonical text for dedupe (docstrings and comments dropped).
"""
from __future__ import annotations

import ast
import hashlib
import io
import re
import tokenize

from funsearch.messages import one_line
from funsearch.program.units import Unit, parse_failure, parse_units


def renamed(unit: Unit, renames: dict[str, str], strip_decorators: bool) -> str:
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
    units = parse_units(source)
    if any(u.node is None for u in units) or not any(u.def_name == old for u in units):
        raise ValueError(f"no parseable function named {old} in the source")
    return "\n\n\n".join(renamed(u, {old: new}, strip_decorators=False) for u in units) + "\n"


def normalise(source: str) -> str:
    """Canonical text for dedupe: the parsed module unparsed, docstrings and comments dropped."""
    try:
        tree = ast.parse(source)
    except Exception as e:  # SyntaxError, ValueError (NUL), RecursionError, MemoryError...
        raise ValueError(one_line(f"cannot normalise: the source does not parse: {parse_failure(e)}")) from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    try:
        return ast.unparse(tree)
    except (RecursionError, MemoryError):  # ast.unparse recurses in Python: the parser took a tree too deep for it
        return token_text(source)


def token_text(source: str) -> str:
    """The canonical text of a program too deeply nested for `ast.unparse`: its tokens, comments and layout
    dropped (docstrings kept), one space apart; marked so that it never equals an unparsed text. Iterative."""
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER)
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return "# tokens\n" + " ".join(t.string if t.string.strip() else tokenize.tok_name[t.type]
                                    for t in tokens if t.type not in skip)


def hash_and_length(source: str) -> tuple[str, int]:
    """`program_hash(source)` and `body_length(source)`, normalising once."""
    text = normalise(source)
    return hashlib.sha256(text.encode()).hexdigest(), len(text)


def program_hash(source: str) -> str:
    """sha256 (hex) of `normalise(source)`: equal for programs that differ only in comments, docstrings, layout."""
    return hash_and_length(source)[0]


def body_length(source: str) -> int:
    """Length in characters of the normalised source (so comments and docstrings cost nothing)."""
    return len(normalise(source))
