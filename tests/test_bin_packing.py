"""problems/bin_packing.py: the published first-fit / best-fit numbers, and the trusted score's checks."""
from pathlib import Path

import pytest

import funsearch
from funsearch.problem.evaluator import Evaluator
from funsearch.problem.loader import load_problem
from funsearch.sandbox.limits import SandboxLimits

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = load_problem(ROOT / "problems" / "bin_packing.py")

# data README: excess bins in % (ratio of means), 2 decimals
FIRST_FIT = {"or1": 6.42, "or2": 6.45, "or3": 5.74, "or4": 5.23, "weibull_5k": 4.23}
BEST_FIT = {"or1": 5.81, "or2": 6.06, "or3": 5.37, "or4": 4.94, "weibull_5k": 3.98}
OR1_L1 = [48, 49, 46, 49, 50, 48, 48, 49, 50, 46, 52, 49, 48, 49, 50, 48, 52, 52, 49, 49]
OR1_FF = [50, 51, 48, 52, 52, 52, 51, 52, 54, 49, 56, 52, 52, 51, 53, 53, 56, 56, 52, 52]
OR1_BF = [50, 51, 48, 53, 52, 52, 52, 52, 53, 48, 55, 51, 51, 51, 53, 52, 55, 56, 51, 52]


def run_in_process(source: str, split: str):
    """Solutions of a candidate (driver + candidate in the module namespace, as the sandbox child does)."""
    namespace = vars(PROBLEM.module)
    saved = namespace["priority"]
    try:
        exec(source, namespace)
        instances = PROBLEM.load_split(split)
        return instances, [PROBLEM.module.solve(inst) for inst in instances]
    finally:
        namespace["priority"] = saved


def baseline(name: str) -> str:
    return PROBLEM.baselines()[name].read_text()


def test_splits_and_train_split():
    assert PROBLEM.splits == ("or1", "or2", "or3", "or4", "weibull_5k")
    assert PROBLEM.train_split == "or1"
    or1 = PROBLEM.load_split("or1")
    assert len(or1) == 20 and all(len(inst["items"]) == 120 for inst in or1)
    assert [inst["l1_bound"] for inst in or1] == OR1_L1
    assert [len(inst["items"]) for inst in PROBLEM.load_split("weibull_5k")] == [5000] * 5


@pytest.mark.parametrize("name,expected", [("first_fit", OR1_FF), ("best_fit", OR1_BF)])
def test_or1_bins_per_instance(name, expected):
    instances, solutions = run_in_process(baseline(name), "or1")
    assert [-PROBLEM.score(inst, sol) for inst, sol in zip(instances, solutions)] == expected


def test_file_baseline_is_best_fit():
    instances, solutions = run_in_process(PROBLEM.baseline_source, "or1")
    assert [-PROBLEM.score(inst, sol) for inst, sol in zip(instances, solutions)] == OR1_BF


@pytest.mark.parametrize("name,table", [("first_fit", FIRST_FIT), ("best_fit", BEST_FIT)])
@pytest.mark.parametrize("split", list(FIRST_FIT))
def test_published_excess_through_sandbox(name, table, split):
    """The evaluation path LLM candidates take reproduces the FunSearch paper's FF/BF numbers."""
    with Evaluator(PROBLEM, limits=SandboxLimits(wall_seconds=120.0)) as ev:
        result = ev.evaluate(baseline(name), split=split)
    assert result.valid, result.message
    assert round(result.metrics["excess_bins_pct"], 2) == table[split]


@pytest.mark.parametrize("name,table", [("first_fit", FIRST_FIT), ("best_fit", BEST_FIT)])
def test_published_excess_in_process(name, table):
    for split, expected in table.items():
        instances, solutions = run_in_process(baseline(name), split)
        scores = [PROBLEM.score(inst, sol) for inst, sol in zip(instances, solutions)]
        assert round(PROBLEM.metrics(instances, solutions, scores)["excess_bins_pct"], 2) == expected


def test_excess_is_a_ratio_of_means():
    instances = [{"items": [10], "capacity": 10, "l1_bound": 1}, {"items": [10] * 9, "capacity": 10, "l1_bound": 9}]
    metrics = PROBLEM.metrics(instances, [None, None], [-2.0, -9.0])
    assert metrics["excess_bins_pct"] == pytest.approx(10.0)  # a mean of ratios would give 50 %
    assert metrics["mean_bins"] == pytest.approx(5.5)


INSTANCE = {"name": "tiny", "capacity": 10, "items": [6, 4, 5, 5], "l1_bound": 2}


def test_score_counts_bins():
    assert PROBLEM.score(INSTANCE, [0, 0, 1, 1]) == -2.0
    assert PROBLEM.score(INSTANCE, [3, 2, 1, 0]) == -4.0


@pytest.mark.parametrize("solution,fragment", [
    ([0, 0, 0, 1], "bin 0 holds 15 > capacity 10"),
    ([0, 0, 1], "3 bin indices for 4 items"),
    ([0, 0, 1, 4], "bin index 4"),
    ([0, 0, 1, -1], "bin index -1"),
    ([0, 0, 1, 1.0], "bin index 1.0"),
    ([0, 0, 1, True], "bin index True"),
    ([0, 0, 1, None], "bin index None"),
    ({"bins": [0, 0, 1, 1]}, "must be a list"),
])
def test_score_rejects(solution, fragment):
    with pytest.raises(funsearch.InvalidSolution, match=None) as info:
        PROBLEM.score(INSTANCE, solution)
    assert fragment in str(info.value)


def test_driver_rejects_wrong_shape_priority():
    with pytest.raises(ValueError, match="priority returned shape"):
        run_in_process("def priority(item, bins):\n    return 1.0\n", "or1")
