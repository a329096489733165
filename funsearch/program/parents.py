"""Calls to earlier versions (pure): a program that calls `<name>_v0` gets that parent as a helper.

The prompt shows the parents as `<name>_v0` .. `<name>_v{k-1}`, and models often call them ("run v0, then
improve its result"). Those names do not exist in the sandbox, so such a program used to fail at run time.
`with_parent_helpers` appends the called parents, renamed to the names the program uses, before the program:
the result runs as the model meant it. Parents that call parents are resolved transitively.
"""
from __future__ import annotations

import ast
import re
from typing import Sequence

from funsearch.program.canonical import rename_function


def called_versions(source: str, function_name: str) -> set[int]:
    """The versions K of `<function_name>_vK` the source reads but does not define."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    family = re.compile(rf"{re.escape(function_name)}_v(\d+)")
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    defined |= {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return {int(m.group(1)) for name in used - defined if (m := family.fullmatch(name))}


def with_parent_helpers(source: str, function_name: str, parents: Sequence[str]) -> tuple[str, tuple[int, ...]]:
    """The source with every called parent prepended as `<function_name>_vK`, and the versions added.

    Versions the prompt did not show (K >= len(parents)) are left alone: that call still fails at run time.
    """
    added: list[int] = []
    helpers: list[str] = []
    todo = sorted(called_versions(source, function_name))
    while todo:
        k = todo.pop(0)
        if k in added or k >= len(parents):
            continue
        helper = rename_function(parents[k], function_name, f"{function_name}_v{k}")
        added.append(k)
        helpers.append(helper.strip("\n"))
        todo += sorted(called_versions(helper, function_name) - set(added))
    if not helpers:
        return source, ()
    return "\n\n\n".join([*reversed(helpers), source.strip("\n")]) + "\n", tuple(sorted(added))
