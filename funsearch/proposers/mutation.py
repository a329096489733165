"""The no-LLM baseline: random mutations of the best parent in the prompt.

It reads the prompt like a model would (the parents `f_v0`, `f_v1`, ...), takes
the last (best) one and applies a few seeded random edits to its AST: numeric
constants scaled or shifted, comparison operators swapped, `+`/`-` and `*`/`/`
exchanged, `min`/`max` exchanged, and new terms grown on the returned
expression (`e * k`, `e + k * p` for a parameter or numeric variable p,
`e + k * p ** 2`), so even a constant-free seed like best fit can change. Costs no tokens, so at equal budget it gets
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
    for _version, stem, start in sorted(found, reverse=True):
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


def _numeric_names(fn: ast.FunctionDef) -> list[str]:
    """Parameters and assigned local names: the variables a grown term may use."""
    names = [a.arg for a in fn.args.args]
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return list(dict.fromkeys(names))


def _grow(tree: ast.Module, rng: random.Random) -> bool:
    """Replace the value of one return statement e by a random extension of it."""
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None] if fn else []
    if not returns:
        return False
    ret = rng.choice(returns)
    k = ast.Constant(round(rng.choice((-1, 1)) * 10 ** rng.uniform(-2, 0.5), 4))
    var = ast.Name(rng.choice(_numeric_names(fn)), ast.Load())
    term = rng.choice((
        lambda e: ast.BinOp(e, ast.Mult(), ast.Constant(round(rng.uniform(0.5, 2.0), 3))),
        lambda e: ast.BinOp(e, ast.Add(), ast.BinOp(k, ast.Mult(), var)),
        lambda e: ast.BinOp(e, ast.Add(), ast.BinOp(k, ast.Mult(), ast.BinOp(var, ast.Pow(), ast.Constant(2)))),
    ))
    ret.value = term(ret.value)
    return True


def mutate(source: str, rng: random.Random, rate: float = 0.15) -> str:
    """A random variant of a function's source (at least one change where there is anything to change)."""
    for _ in range(8):
        tree = ast.parse(source)
        mutator = _Mutator(rng, rate)
        tree = mutator.visit(tree)
        grown = rng.random() < 0.5 and _grow(tree, rng)
        if mutator.changes or grown:
            return ast.unparse(ast.fix_missing_locations(tree))
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
