"""Prompts from parent programs, FunSearch style (pure, no I/O).

The prompt is the problem's preamble (module docstring and imports), then the k parents in
ascending score renamed `<name>_v0` .. `<name>_v{k-1}` (v1 onwards documented as "Improved
version of `<name>_v{i-1}`."), then the header `def <name>_v{k}<signature>:` with its
docstring, so that a completion-mode model continues with the body. Renaming is AST-based
(canonical.rename_function): strings and comments that mention the name are untouched.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Sequence

from funsearch.program.canonical import rename_function
from funsearch.program.divergence import code_line

_INDENT = "    "


@dataclass(frozen=True)
class PromptView:
    """What a prompt needs to know about the problem.

    Attributes:
      preamble: the problem file's module docstring and import lines, shown first.
      function_name: name of the evolved function in the problem file (e.g. "priority").
      signature: everything between the name and the colon, e.g. "(item: float, bins: np.ndarray) -> np.ndarray".
      docstring: the evolved function's docstring (cleaned, without quotes); shown on v0 (or on the
        asked-for version when there are no parents).
    """

    preamble: str
    function_name: str
    signature: str
    docstring: str


def build_prompt(view: PromptView, parents: Sequence[str]) -> str:
    """Completion-mode prompt: preamble, parents as `_v0.._v{k-1}`, then the open `_v{k}` header."""
    return listing(view, parents) + "\n\n\n" + completion_header(view, len(parents))


def completion_header(view: PromptView, n_parents: int) -> str:
    """The header the prompt ends with (pass it to `extract_function(..., header=...)`)."""
    name = f"{view.function_name}_v{n_parents}"
    doc = view.docstring if n_parents == 0 else improved_doc(view.function_name, n_parents)
    return f"def {name}{view.signature}:\n{docstring_lines(doc, _INDENT)}\n"


def stop_sequences() -> tuple[str, ...]:
    """Stop strings for completion mode: each marks text that starts after the new function ends.

    Trade-off: "\\ndef " stops at the first top-level `def` after the body, so a helper written
    after the function is cut off (and a call to it fails at run time). Nested helpers
    (indented `def`) survive. Without it a small model writes function after function until
    max_tokens (measured on this 2-core machine: about 18 s per sample on the 0.5B model instead of 4 s),
    so we keep it; chat mode (`chat_messages`) is the way to get helpers.
    """
    return ("\ndef ", "\nclass ", "\nif __name__", "\n```", "\nprint(")


def chat_messages(view: PromptView, parents: Sequence[str]) -> list[dict[str, str]]:
    """Chat-backend variant: the same listing in a ```python block and a request for `<name>_v{k}`.

    Use it without stop sequences: a reply may start with prose before the block, and
    extract.extract_function copes with prose, fences and helpers.
    """
    k = len(parents)
    name = f"{view.function_name}_v{k}"
    params = _parameter_list(view.signature)
    basis = (f"an improved version of `{view.function_name}_v{k - 1}`" if k
             else f"a function that does what this docstring says: {view.docstring}")
    system = ("You are an expert Python programmer. You answer with code only: exactly one "
              "```python block and no explanation.")
    user = (f"```python\n{listing(view, parents)}\n```\n\n"
            f"Write `{name}`, {basis}. It must be one complete function "
            f"`def {name}{view.signature}:` taking exactly ({params}), and must not call the earlier versions. "
            f"Reply with exactly one ```python block holding that function, plus any imports or "
            f"helper functions it needs.")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def listing(view: PromptView, parents: Sequence[str]) -> str:
    """Preamble, extra imports of the parents, then each parent renamed to its version (shared by strategies)."""
    imports: list[str] = []
    seen = {_key(line) for line in view.preamble.splitlines()}
    blocks: list[str] = []
    for i, source in enumerate(parents):
        doc = view.docstring if i == 0 else improved_doc(view.function_name, i)
        renamed = rename_function(source, view.function_name, f"{view.function_name}_v{i}")
        own_imports, body = _split_imports(_with_docstring(renamed, f"{view.function_name}_v{i}", doc))
        for line in own_imports:
            if _key(line) not in seen:
                seen.add(_key(line))
                imports.append(line)
        blocks.append(body)
    head = view.preamble.rstrip() + ("\n" + "\n".join(imports) if imports else "")
    return "\n\n\n".join([head, *blocks]) if blocks else head


def _key(line: str) -> str:
    return " ".join(line.split())


def improved_doc(name: str, version: int) -> str:
    return f"Improved version of `{name}_v{version - 1}`."


def _parameter_list(signature: str) -> str:
    try:
        args = ast.parse(f"def f{signature}: pass").body[0].args
    except SyntaxError:
        return signature
    return ", ".join(a.arg for a in args.posonlyargs + args.args)


def docstring_lines(doc: str, indent: str) -> str:
    text = doc.strip().replace('"""', '\\"\\"\\"')
    lines = text.split("\n")
    if len(lines) == 1:
        return f'{indent}"""{text}"""'
    body = "\n".join((indent + ln) if ln.strip() else "" for ln in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}\n{indent}"""'


def _split_imports(source: str) -> tuple[list[str], str]:
    """Top-level import statements (one per line) and the rest of the module."""
    tree = ast.parse(source)
    lines = source.split("\n")
    drop: set[int] = set()
    imports: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(ast.unparse(node))
            drop.update(range(node.lineno - 1, node.end_lineno))
    rest = "\n".join(ln for i, ln in enumerate(lines) if i not in drop).strip("\n")
    return imports, rest


def _with_docstring(source: str, name: str, doc: str) -> str:
    """Replace (or insert) the docstring of top-level function `name`, keeping the rest of the text."""
    tree = ast.parse(source)
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name][-1]
    lines = source.split("\n")
    first = fn.body[0]
    if first.lineno == fn.lineno:                     # one-line def: rebuild this function from the AST
        if _is_docstring(first):
            fn.body = fn.body[1:] or [ast.Pass()]
        fn.body.insert(0, ast.Expr(ast.Constant(doc)))
        start = (fn.decorator_list[0].lineno if fn.decorator_list else fn.lineno) - 1
        lines[start: fn.end_lineno] = ast.unparse(fn).split("\n")
        return "\n".join(lines)
    indent = lines[first.lineno - 1][: first.col_offset]
    new = docstring_lines(doc, indent).split("\n")
    if _is_docstring(first):
        lines[first.lineno - 1: first.end_lineno] = new
    else:
        at = _header_end(fn, lines)
        lines[at:at] = new
    return "\n".join(lines)


def _header_end(fn: ast.FunctionDef, lines: list[str]) -> int:
    """Index of the line after the one holding the header's closing colon (comments skipped)."""
    known = [fn.lineno] + [n.end_lineno for n in ast.walk(fn.args) if hasattr(n, "end_lineno")]
    row = max(known + ([fn.returns.end_lineno] if fn.returns else [])) - 1
    while row < fn.body[0].lineno - 1 and not code_line(lines[row]).endswith(":"):
        row += 1
    return row + 1


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
