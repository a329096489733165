"""problems/cap_set.py: the greedy driver, the constant baseline's 2^n, and the trusted cap check."""
import itertools
from pathlib import Path

import pytest

import funsearch
from funsearch.problem.loader import load_problem

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = load_problem(ROOT / "problems" / "cap_set.py")
SOLVE = PROBLEM.module.solve


def with_priority(source: str, n: int):
    namespace = vars(PROBLEM.module)
    saved = namespace["priority"]
    try:
        exec(source, namespace)
        instance = PROBLEM.load_split(f"n{n}")[0]
        return instance, SOLVE(instance)
    finally:
        namespace["priority"] = saved


def is_cap_brute_force(vectors) -> bool:
    points = {tuple(v) for v in vectors}
    for a, b, c in itertools.combinations(points, 3):
        if all((x + y + z) % 3 == 0 for x, y, z in zip(a, b, c)):
            return False
    return True


def test_splits():
    assert PROBLEM.splits == ("n3", "n4", "n5", "n6", "n7", "n8")
    assert [PROBLEM.load_split(s)[0]["best_known"] for s in PROBLEM.splits] == [9, 20, 45, 112, 236, 512]


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8])
def test_constant_priority_gives_two_to_the_n(n):
    instance, solution = with_priority(PROBLEM.baselines()["constant"].read_text(), n)
    assert PROBLEM.score(instance, solution) == 2 ** n
    assert sorted(map(tuple, solution)) == sorted(itertools.product(range(2), repeat=n))  # {0,1}^n


def test_greedy_result_is_a_cap_and_maximal_n4():
    source = "def priority(el, n):\n    return float(sum(x * 3 ** i for i, x in enumerate(el)) % 7)\n"
    instance, solution = with_priority(source, 4)
    assert is_cap_brute_force(solution)
    chosen = {tuple(v) for v in solution}
    for extra in itertools.product(range(3), repeat=4):  # greedy: nothing can be added
        if extra not in chosen:
            assert not is_cap_brute_force(list(chosen) + [extra])
    assert PROBLEM.score(instance, solution) == len(solution)


def test_priority_order_is_followed():
    # highest priority first: the all-2 vector must be chosen first
    instance, solution = with_priority("def priority(el, n):\n    return float(sum(el))\n", 3)
    assert solution[0] == [2, 2, 2]


def test_score_rejects_a_line():
    instance = PROBLEM.load_split("n3")[0]
    line = [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    assert is_cap_brute_force(line) is False
    with pytest.raises(funsearch.InvalidSolution, match="form a line"):
        PROBLEM.score(instance, [[0, 1, 0]] + line)
    with pytest.raises(funsearch.InvalidSolution, match="form a line"):
        PROBLEM.score(instance, [[0, 0, 1], [1, 2, 0], [2, 1, 2]])  # a line that is not a diagonal


@pytest.mark.parametrize("solution,fragment", [
    ([[0, 0, 0], [0, 0, 0]], "twice"),
    ([[0, 0, 3]], "entry 0"),
    ([[0, 0]], "entry 0"),
    ([[0, 0, 0], None], "entry 1"),
    ([[0, 0, True]], "entry 0"),
    ([[0, 0, 1.0]], "entry 0"),
    ({"set": []}, "must be a list"),
])
def test_score_rejects_malformed(solution, fragment):
    with pytest.raises(funsearch.InvalidSolution) as info:
        PROBLEM.score(PROBLEM.load_split("n3")[0], solution)
    assert fragment in str(info.value)


def test_score_accepts_a_known_cap_of_size_9_in_n3():
    instance = PROBLEM.load_split("n3")[0]
    # the maximum cap in Z_3^3 has 9 points, e.g. {(x, y, x^2 + y^2) : x, y in Z_3} (a quadric)
    cap = [[x, y, (x * x + y * y) % 3] for x in range(3) for y in range(3)]
    assert is_cap_brute_force(cap)
    assert PROBLEM.score(instance, cap) == 9.0
    assert PROBLEM.metrics([instance], [cap], [9.0]) == {"cap_size": 9.0, "best_known": 9.0}


def test_constant_baseline_through_sandbox_all_splits():
    from funsearch.problem.evaluator import Evaluator

    source = PROBLEM.baselines()["constant"].read_text()
    with Evaluator(PROBLEM) as evaluator:
        sizes = [evaluator.evaluate(source, split=f"n{n}").metrics["cap_size"] for n in range(3, 9)]
    assert sizes == [8.0, 16.0, 32.0, 64.0, 128.0, 256.0]
