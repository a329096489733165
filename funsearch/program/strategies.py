"""Prompt strategies (pure): how the parents become a prompt, and what the completion continues.

Every strategy lists the parents as FunSearch does (`<name>_v0` .. `<name>_v{k-1}`, ascending score;
funsearch/program/prompt.py) and then opens `<name>_v{k}` in its own way:

- `classic`: FunSearch's header and "Improved version of `<name>_v{k-1}`." docstring; the model writes the
  body. Small models mostly copy the last parent (measured: 73 % verbatim copies on TSP with the 0.5B model).
- `edit`: the new function is pre-written up to a random line of the best parent, followed by an open
  `# Improvement:` comment, so the model states one change at a chosen place and writes the code from there
  on. The pre-written part is prompt (cheap prefill), not generation. Idea: the model cannot copy the parent
  without first stating a change, and each sample edits another place.
- `idea`: EoH-style operators drawn per sample (a new algorithm, change one part, change the formula or
  parameters, add a step, or combine two parents), written into the docstring of `<name>_v{k}`, which is left
  open after "Idea:" so that the model states its idea (a "thought") before the code.
- `mix`: one of `edit` and `idea` drawn per sample.

`diverge=True` adds forced divergence to the classic prompt (funsearch/program/divergence.py): the sampler may not
copy a parent past a random line of it, nor write out a `known` program (the code of one sampled before). The other
strategies already open the function their own way.

A `PromptPlan` says what the completion continues (`prefix`): extraction runs on prefix + completion. The
strategy's choices come from the `rng` the caller passes (seeded per request: reproducible, no state).
"""
from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from typing import Sequence

from funsearch.program.canonical import rename_function
from funsearch.program.divergence import Divergence
from funsearch.program.prompt import PromptView, completion_header, improved_doc, listing

STRATEGIES = ("classic", "edit", "idea", "mix")
_INDENT = "    "
_IDEAS = {
    "new": "a new algorithm that differs from `{last}`, not a small edit of it",
    "part": "`{last}` with one part of its logic changed",
    "formula": "`{last}` with its formula or its parameters changed",
    "step": "`{last}` plus one step that makes its result better",
    "combine": "a combination of the ideas of `{first}` and `{last}`",
}


@dataclass(frozen=True)
class PromptPlan:
    """One prompt and how to read its completion.

    Attributes:
      text: the prompt sent to the model.
      prefix: the text of `<name>_v{k}` the prompt already wrote, which the completion continues
        ("" for classic: the completion is glued to `header` when it is a body-only continuation).
      header: the classic header (for extract_function's header argument), or None.
      version: k, the version asked for (`<name>_v{k}`).
      tag: what was drawn, e.g. "classic", "edit:L3" (edit before body line 3), "idea:formula",
        "classic+diverge:L2" (the last parent may be copied up to its body line 2, not past it).
      divergence: what the sampler may not copy (classic with diverge), or None.
    """

    text: str
    prefix: str
    header: str | None
    version: int
    tag: str
    divergence: Divergence | None = None

    def program_text(self, completion: str) -> str:
        """The text extraction should read: what the prompt wrote of the function, then the completion."""
        return self.prefix + completion


def plan_prompt(strategy: str, view: PromptView, parents: Sequence[str], rng: random.Random,
                diverge: bool = False, known: Sequence[str] = (), choose=None) -> PromptPlan:
    """The prompt for `parents` (ascending score) under `strategy` (one of STRATEGIES); `diverge`: see above;
    `choose`: how divergence picks each parent's line (Divergence.plan; default: at random)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown prompt strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if strategy == "mix":
        strategy = rng.choice(("edit", "idea"))
    k = len(parents)
    if strategy == "classic" or k == 0:
        header = completion_header(view, k)
        divergence = _divergence(view, parents, rng, known, choose) if diverge and k else None
        tag = "classic"
        if divergence is not None:
            tag += f"+diverge:L{divergence.lines[divergence.parents - 1]}" if divergence.parents else "+diverge"
        return PromptPlan(listing(view, parents) + "\n\n\n" + header, "", header, k, tag, divergence)
    if strategy == "edit":
        prefix, line = _edit_prefix(view, parents[-1], k, rng)
        return PromptPlan(listing(view, parents) + "\n\n\n" + prefix, prefix, None, k, f"edit:L{line}")
    return _idea(view, parents, rng)


def _idea(view: PromptView, parents: Sequence[str], rng: random.Random) -> PromptPlan:
    k, name = len(parents), view.function_name
    choices = [key for key in _IDEAS if key != "combine" or k >= 2]
    key = rng.choice(choices)
    operator = _IDEAS[key].format(first=f"{name}_v0", last=f"{name}_v{k - 1}")
    doc = f"{improved_doc(name, k)[:-1]}: {operator}.\n{_INDENT}Idea:"
    prefix = f"def {name}_v{k}{view.signature}:\n{_INDENT}\"\"\"{doc}"
    return PromptPlan(listing(view, parents) + "\n\n\n" + prefix, prefix, None, k, f"idea:{key}")


def _divergence(view: PromptView, parents: Sequence[str], rng: random.Random,
                known: Sequence[str], choose=None) -> Divergence | None:
    """Each parent's body as the listing shows it (renamed to its version), with a random line to diverge by."""
    bodies = []
    for i, source in enumerate(parents):
        name = f"{view.function_name}_v{i}"
        try:
            bodies.append(body_lines(rename_function(source, view.function_name, name), name))
        except Exception:  # never expected of a registered program: skip it, never fail the draw
            continue
    return Divergence.plan(bodies, rng, known, choose)


def _edit_prefix(view: PromptView, parent: str, k: int, rng: random.Random) -> tuple[str, int]:
    """The header and docstring of `_v{k}`, the parent's body up to a random line, and an open comment there."""
    header = completion_header(view, k)
    name = f"{view.function_name}_v{k}"
    body = body_lines(rename_function(parent, view.function_name, name), name)
    starts = [i for i, line in enumerate(body) if line.strip() and not line.lstrip().startswith("#")]
    if not starts:
        return header + f"{_INDENT}# Improvement:", 0
    at = rng.choice(starts)
    indent = body[at][: len(body[at]) - len(body[at].lstrip())]
    kept = "".join(line + "\n" for line in body[:at])
    return header + kept + f"{indent}# Improvement:", at


def body_lines(source: str, function_name: str) -> list[str]:
    """The lines of the function's body after its docstring (the last def named `function_name`, else the last def)."""
    tree = ast.parse(source)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    fn = ([n for n in defs if n.name == function_name] or defs)[-1]
    lines = source.split("\n")
    first = fn.body[0]
    if first.lineno == fn.lineno:  # a one-line def: `def f(x): return x`
        return [_INDENT + line for line in ast.unparse(fn).split("\n")[1:]]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        and isinstance(first.value.value, str)
    start = first.end_lineno if has_doc else first.lineno - 1
    return lines[start: fn.end_lineno]


