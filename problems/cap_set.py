"""Cap sets in Z_3^n (FunSearch's cap set problem).

A cap set is a set of vectors in Z_3^n (each coordinate 0, 1 or 2) with no three distinct vectors on a line,
that is, no three distinct a, b, c with a + b + c = 0 (mod 3) in every coordinate. The goal is a large cap set.
The heuristic is a `priority` function over vectors: the vectors are visited from the highest priority to the
lowest (ties in the lexicographic order of itertools.product), and each is added when it forms no line with two
vectors already chosen. The score is the size of the set.
"""
import itertools

import numpy as np

import funsearch

SPLITS = ("n3", "n4", "n5", "n6", "n7", "n8")
# FunSearch evolved its cap set priority functions at n = 8 (6561 vectors, one priority call each: a fraction of a
# second with a simple priority); the smaller dimensions are quick checks of the same program.
TRAIN_SPLIT = "n8"
BEST_KNOWN = {3: 9, 4: 20, 5: 45, 6: 112, 7: 236, 8: 512}  # largest cap sets known in Z_3^n


def load_split(name: str) -> list[dict]:
    n = int(name.removeprefix("n"))
    return [{"name": name, "n": n, "best_known": BEST_KNOWN[n]}]


@funsearch.evolve
def priority(el: tuple[int, ...], n: int) -> float:
    """Returns the priority with which we want to add `el` to the cap set.

    Args:
      el: a vector of Z_3^n, a tuple of n integers each 0, 1 or 2.
      n: the dimension.

    Returns:
      A number; vectors with higher priority are tried first.
    """
    return 0.0


def _codes(vectors: np.ndarray) -> np.ndarray:
    """Base-3 code of each row (vectors in Z_3^n as an integer array of shape (m, n))."""
    return vectors @ (3 ** np.arange(vectors.shape[1] - 1, -1, -1))


@funsearch.run
def solve(instance: dict) -> list[list[int]]:
    """Greedy cap set: visits the vectors by decreasing priority (stable), adds each that completes no line."""
    n = instance["n"]
    vectors = np.array(list(itertools.product(range(3), repeat=n)), dtype=np.int64)
    # one finite number per vector (funsearch.BadOutput otherwise): np.argsort would place NaN anywhere
    priorities = funsearch.finite_numbers([priority(tuple(int(x) for x in v), n) for v in vectors],
                                          shape=(len(vectors),), what="priority")
    order = np.argsort(-priorities, kind="stable")
    blocked = np.zeros(len(vectors), dtype=bool)   # vectors that would complete a line (or are chosen)
    chosen: list[int] = []
    for index in order:
        if blocked[index]:
            continue
        if chosen:
            third = (-(vectors[chosen] + vectors[index])) % 3
            blocked[_codes(third)] = True
        blocked[index] = True
        chosen.append(int(index))
    return vectors[chosen].tolist()


def score(instance: dict, solution) -> float:
    """The size of the set, after checking every entry is a distinct vector of Z_3^n and no three form a line."""
    n = instance["n"]
    if not isinstance(solution, list):
        raise funsearch.InvalidSolution(f"solution must be a list of vectors, got {type(solution).__name__}")
    for position, v in enumerate(solution):
        if not isinstance(v, list) or len(v) != n or not all(type(x) is int and 0 <= x <= 2 for x in v):
            raise funsearch.InvalidSolution(f"entry {position} is not a vector of {n} integers in {{0, 1, 2}}")
    if not solution:
        return 0.0
    vectors = np.array(solution, dtype=np.int64)
    codes = _codes(vectors)
    member = np.zeros(3 ** n, dtype=bool)
    member[codes] = True
    if int(member.sum()) != len(solution):
        raise funsearch.InvalidSolution("the set holds a vector twice")
    for i in range(len(vectors) - 1):
        third = _codes((-(vectors[i] + vectors[i + 1:])) % 3)
        hits = np.nonzero(member[third])[0]
        if hits.size:
            j = i + 1 + int(hits[0])
            raise funsearch.InvalidSolution(f"entries {i} and {j} form a line with a third vector of the set")
    return float(len(solution))


def metrics(instances: list[dict], solutions: list, scores: list[float]) -> dict[str, float]:
    """cap_size: the set's size (mean over instances); best_known: the largest known cap set for that n."""
    return {"cap_size": sum(scores) / len(scores),
            "best_known": sum(inst["best_known"] for inst in instances) / len(instances)}
