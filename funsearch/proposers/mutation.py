"""The no-LLM baseline: random mutations of the best parent in the prompt.

It reads the prompt like a model would (the parents `f_v0`, `f_v1`, ...), takes
the last (best) one and applies a few seeded random edits to its AST: numeric
constants scaled or shifted, comparison operators swapped, `+`/`-` and `*`/`/`
exchanged, `min`/`max` exchanged. Costs no tokens, so at equal budget it gets
many more samples than a model: the baseline an LLM must beat.
"""
from __future__ import annotations

import ast
import random
import re
import time

from funsearch.proposers.base import Completion, SamplingParams, Usage

_COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


def last_parent(prompt: str) -> tuple[str, str] | None:
    """(function name stem, source) of the highest-numbered complete `stem_vK` function in the prompt."""
    found: list[tuple[int, str, ast.FunctionDef]] = []
    for match in re.finditer(r"^def (\w+)_v(\d+)\(", prompt, flags=re.M):
        found.append((int(match.group(2)), match.group(1), match.start()))
    for version, stem, start in sorted(found, reverse=True):
        chunk = prompt[start:]
        lines = chunk.splitlines()
        for end in range(len(lines), 0, -1):
            text = "\n".join(lines[:end])
            try:
                tree = ast.parse(text)
            except SyntaxError:
                continue
            if tree.body and isinstance(tree.body[0], ast.FunctionDef) and len(tree.body[0].body) > 1:
                return stem, ast.unparse(tree.body[0])
            break
    return None


class _Mutator(ast.NodeTransformer):
    def __init__(self, rng: random.Random, rate: float):
        self.rng, self.rate = rng, rate
        self.changes = 0

    def _hit(self) -> bool:
        return self.rng.random() < self.rate

    def visit_Constant(self, node: ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and self._hit():
            self.changes += 1
            if isinstance(node.value, int) and self.rng.random() < 0.5:
                return ast.copy_location(ast.Constant(node.value + self.rng.choice((-1, 1))), node)
            return ast.copy_location(ast.Constant(round(node.value * self.rng.uniform(0.5, 1.5), 4)), node)
        return node

    def visit_Compare(self, node: ast.Compare):
        self.generic_visit(node)
        node.ops = [(_COMPARE_SWAPS[type(op)]() if type(op) in _COMPARE_SWAPS and self._hit() else op)
                    for op in node.ops]
        return node

    def visit_BinOp(self, node: ast.BinOp):
        self.generic_visit(node)
        if type(node.op) in _BINOP_SWAPS and self._hit():
            self.changes += 1
            node.op = _BINOP_SWAPS[type(node.op)]()
        return node

    def visit_Name(self, node: ast.Name):
        if node.id in ("min", "max") and self._hit():
            self.changes += 1
            node.id = "max" if node.id == "min" else "min"
        return node


def mutate(source: str, rng: random.Random, rate: float = 0.15) -> str:
    """A random variant of a function's source (at least one change where there is anything to change)."""
    for _ in range(8):
        tree = ast.parse(source)
        mutator = _Mutator(rng, rate)
        tree = ast.fix_missing_locations(mutator.visit(tree))
        if mutator.changes:
            return ast.unparse(tree)
    return source


class MutationProposer:
    """Proposer protocol over `mutate`: each sample's seed drives its mutations."""

    def __init__(self, model: str = "mutation", rate: float = 0.15):
        self.model, self.rate = model, rate

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        out = []
        parent = last_parent(prompt)
        for i in range(n):
            start = time.perf_counter()
            seed = params.seed + i
            if parent is None:
                text = ""
            else:
                stem, source = parent
                text = mutate(source, random.Random(seed), self.rate)
                text = re.sub(rf"^def {stem}_v\d+\(", f"def {stem}_v2(", text, count=1)
            seconds = time.perf_counter() - start
            out.append(Completion(text=text, usage=Usage(0, 0, seconds, seconds), model=self.model, seed=seed))
        return out

    def close(self) -> None:
        pass
