"""problems/tsp.py: TSPLIB parsing, distances, tour validation, stored references and the four baselines."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import funsearch
from funsearch.problem.evaluator import Evaluator
from funsearch.problem.loader import load_problem
from funsearch.sandbox.limits import SandboxLimits

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = load_problem(ROOT / "problems" / "tsp.py")
TSP = PROBLEM.module
DATA = ROOT / "problems" / "data" / "tsp"


def run_in_process(source: str, split: str):
    namespace = vars(TSP)
    saved = namespace["build_tour"]
    try:
        exec(source, namespace)
        instances = PROBLEM.load_split(split)
        return instances, [json.loads(json.dumps(TSP.solve(inst))) for inst in instances]
    finally:
        namespace["build_tour"] = saved


def baseline(name: str) -> str:
    return PROBLEM.baselines()[name].read_text()


SAMPLE = """NAME: sample
TYPE : TSP
COMMENT : scientific notation, KEY: VALUE headers, blank lines, no EOF
DIMENSION: 3
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0.00000e+00 0.00000e+00

2 5.51200e+02 1e1
3 -2.5 7
"""


def test_parser_reads_scientific_notation_and_missing_eof():
    parsed = TSP.parse_tsplib(SAMPLE)
    assert parsed == {"name": "sample", "n": 3, "coords": [[0.0, 0.0], [551.2, 10.0], [-2.5, 7.0]]}


def test_parser_real_files():
    d198 = TSP.parse_tsplib((DATA / "d198.tsp").read_text())
    assert d198["n"] == 198 and d198["coords"][1] == [551.2, 996.4]
    pr1002 = TSP.parse_tsplib((DATA / "pr1002.tsp").read_text())  # no EOF line
    assert pr1002["n"] == 1002 and pr1002["coords"][-1] == [14550.0, 11650.0]
    berlin = TSP.parse_tsplib((DATA / "berlin52.tsp").read_text())  # trailing empty line
    assert berlin["n"] == 52 and berlin["coords"][0] == [565.0, 575.0]


@pytest.mark.parametrize("text,fragment", [
    (SAMPLE.replace("EUC_2D", "GEO"), "only EUC_2D"),
    (SAMPLE.replace("3 -2.5 7", "4 -2.5 7"), "ids other than 1..3"),
    (SAMPLE.replace("2 5.51200e+02 1e1", "2 5.5"), "expected 'id x y'"),
])
def test_parser_rejects(text, fragment):
    with pytest.raises(ValueError, match=None) as info:
        TSP.parse_tsplib(text)
    assert fragment in str(info.value)


def test_nint_distance_rounds_half_up():
    a = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.5], [1.0, 1.5], [3.0, 4.0]])
    assert TSP.distances(a, b, "euc_2d").tolist() == [3.0, 2.0, 5.0]  # numpy's round() would give 2 for 2.5
    assert TSP.distances(a, b, "euclidean").tolist() == pytest.approx([2.5, math.sqrt(3.25), 5.0])


def test_distance_matrix_is_cached_and_read_only():
    instance = PROBLEM.load_split("tsplib_small")[0]
    matrix = TSP.distance_matrix(instance)
    assert matrix is TSP.distance_matrix(dict(instance))
    assert matrix[0, 1] == 12.0  # eil51: (37, 52) to (49, 49)
    with pytest.raises(ValueError):
        matrix[0, 1] = 0.0


def test_nearest_neighbour_on_eil51_is_511():
    instances, solutions = run_in_process(baseline("nearest_neighbour"), "tsplib_small")
    assert instances[0]["name"] == "eil51"
    assert PROBLEM.score(instances[0], solutions[0]) == -511.0


def test_nearest_neighbour_tsplib_mean_gap_matches_data_readme():
    instances, solutions = run_in_process(PROBLEM.baseline_source, "tsplib")
    scores = [PROBLEM.score(inst, sol) for inst, sol in zip(instances, solutions)]
    assert len(instances) == 33
    assert round(PROBLEM.metrics(instances, solutions, scores)["gap_pct"], 2) == 23.41


SQUARE = {"name": "square", "coords": [[0, 0], [0, 3], [4, 3], [4, 0]], "distance": "euc_2d", "reference": 14}


def test_score_is_minus_closed_tour_length():
    assert PROBLEM.score(SQUARE, [0, 1, 2, 3]) == -14.0
    assert PROBLEM.score(SQUARE, [0, 2, 1, 3]) == -(5 + 4 + 5 + 4)


@pytest.mark.parametrize("solution,fragment", [
    ([0, 1, 1, 3], "not a permutation"),   # duplicate, city 2 missing
    ([0, 1, 2], "list of 4"),              # missing city
    ([0, 1, 2, 3, 0], "list of 4"),        # closing city repeated
    ([0, 1, 2, 4], "not a permutation"),
    ([0, 1, 2, 3.0], "integer"),
    ([0, 1, 2, None], "integer"),
    (None, "list of 4"),
])
def test_score_rejects_invalid_tours(solution, fragment):
    with pytest.raises(funsearch.InvalidSolution) as info:
        PROBLEM.score(SQUARE, solution)
    assert fragment in str(info.value)


@pytest.mark.parametrize("order,fragment", [
    ([0, 1, 1, 3], "not a permutation"),
    ([0, 1, 2], "1-D sequence of 4"),
    ([[0, 1], [2, 3]], "1-D sequence of 4"),
    ([0, 1, 2.5, 3], "integer"),
    ([0, 1, 2, 3, 1], "1-D sequence of 4"),  # n + 1 cities, but not back to the first one
    ([0, 1, float("nan"), 3], "non-finite"),
    ([0, 1, float("inf"), 3], "non-finite"),
    (["0", "1", "2", "3"], "not numbers"),
    ([True, False, True, False], "integer"),
])
def test_driver_guards_invalid_orders(order, fragment):
    with pytest.raises(funsearch.BadOutput) as info:
        TSP.as_tour(order, 4)
    assert fragment in str(info.value)
    assert TSP.as_tour(np.array([3.0, 2.0, 1.0, 0.0]), 4) == [3, 2, 1, 0]


def test_driver_accepts_a_closed_tour_as_the_open_one():
    assert TSP.as_tour([2, 0, 3, 1, 2], 4) == [2, 0, 3, 1]
    assert TSP.as_tour(np.array([0, 1, 2, 3, 0]), 4) == [0, 1, 2, 3]


@pytest.mark.parametrize("split,n", [("train50", 50), ("tsp20", 20), ("tsp50", 50), ("tsp100", 100), ("tsp200", 200)])
def test_random_splits_and_stored_references(split, n):
    instances = PROBLEM.load_split(split)
    assert len(instances) == (16 if split == "train50" else 64)
    assert all(len(inst["coords"]) == n and inst["distance"] == "euclidean" for inst in instances)
    raw = json.loads((DATA / TSP.RANDOM_FILES[split]).read_text())["instances"]
    for inst, stored in zip(instances, raw):  # the reference is the length of the stored LKH tour
        assert -PROBLEM.score(inst, stored["reference_tour"]) == pytest.approx(inst["reference"], rel=1e-9)
    names = {inst["name"] for inst in instances}
    assert len(names) == len(instances)


def test_train_split_is_disjoint_from_test_splits():
    train = {json.dumps(inst["coords"]) for inst in PROBLEM.load_split("train50")}
    assert PROBLEM.train_split == "train50"
    assert not train & {json.dumps(inst["coords"]) for inst in PROBLEM.load_split("tsp50")}


def test_tsplib_small_is_the_instances_up_to_200_cities():
    small = PROBLEM.load_split("tsplib_small")
    assert len(small) == 20 and max(len(inst["coords"]) for inst in small) == 200
    assert {inst["name"] for inst in small} < {inst["name"] for inst in PROBLEM.load_split("tsplib")}


# measured gaps (%): tsp50 / tsplib_small; the ranges are a few points around them
EXPECTED = {
    "nearest_neighbour": {"tsp50": (17, 24), "tsplib_small": (20, 27)},
    "farthest_insertion": {"tsp50": (3, 8), "tsplib_small": (5, 10)},
    "greedy_edge": {"tsp50": (13, 21), "tsplib_small": (15, 23)},
    "nn_2opt": {"tsp50": (2.5, 7), "tsplib_small": (3, 8)},
}


@pytest.mark.parametrize("name", list(EXPECTED))
@pytest.mark.parametrize("split", ["tsp50", "tsplib_small"])
def test_baselines_valid_and_in_range(name, split):
    instances, solutions = run_in_process(baseline(name), split)
    scores = [PROBLEM.score(inst, sol) for inst, sol in zip(instances, solutions)]  # raises on an invalid tour
    low, high = EXPECTED[name][split]
    assert low <= PROBLEM.metrics(instances, solutions, scores)["gap_pct"] <= high
    assert all(-s >= inst["reference"] - 1e-9 for inst, s in zip(instances, scores))  # never beats the optimum


def test_baselines_through_sandbox_on_train_split():
    limits = SandboxLimits(wall_seconds=120.0)
    with Evaluator(PROBLEM, limits=limits) as evaluator:
        gaps = {}
        for name in EXPECTED:
            result = evaluator.evaluate(baseline(name), split="train50")
            assert result.valid, f"{name}: {result.message}"
            gaps[name] = result.metrics["gap_pct"]
    assert gaps["nn_2opt"] < gaps["farthest_insertion"] < gaps["greedy_edge"] < gaps["nearest_neighbour"]


def test_eval_instances_file_accepts_a_tsplib_index_and_a_random_file():
    from funsearch.problem.evaluate_file import instances_from_file
    from funsearch.problem.loader import load_problem

    problem = load_problem(Path(__file__).resolve().parent.parent / "problems" / "tsp.py")
    data_dir = problem.path.parent / "data" / "tsp"
    tsplib = instances_from_file(problem, data_dir / "tsplib.json")
    assert len(tsplib) == 33 and tsplib[0]["name"] == "eil51" and len(tsplib[0]["coords"]) == 51
    assert tsplib[0]["reference"] == 426 and tsplib[0]["distance"] == "euc_2d"
    random50 = instances_from_file(problem, data_dir / "random_tsp50.json")
    assert len(random50) == 64 and all(len(i["coords"]) == 50 for i in random50)
