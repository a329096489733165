"""problems/tsp_construct.py: the constructive TSP (a next-city priority) agrees with problems/tsp.py's nearest
neighbour, guards what the priority returns, and evaluates through the real sandbox."""
import numpy as np
import pytest

from funsearch.problem.evaluator import Evaluator, evaluate_in_process
from funsearch.problem.loader import load_problem
from funsearch.sandbox.limits import SandboxLimits
from tests.test_tsp import ROOT

CONSTRUCT = load_problem(ROOT / "problems" / "tsp_construct.py")
WHOLE = load_problem(ROOT / "problems" / "tsp.py")

LOOK_BACK = '''
def next_city_priority(to_current, to_start, to_nearest):
    priority = -to_current + 0.3 * to_start + 0.5 * to_nearest
    to_current[:] = 0.0  # the inputs are the candidate's own copies: writing to them changes nothing outside
    return priority
'''


def test_the_seed_is_nearest_neighbour_on_every_instance_of_the_training_split():
    seed = evaluate_in_process(CONSTRUCT, CONSTRUCT.baseline_source)
    nn = evaluate_in_process(WHOLE, WHOLE.baseline_source)
    assert seed.valid and nn.valid
    assert [o.score for o in seed.per_instance] == [o.score for o in nn.per_instance]
    assert seed.metrics["gap_pct"] == pytest.approx(nn.metrics["gap_pct"])


def test_a_different_priority_builds_a_different_valid_tour():
    seed = evaluate_in_process(CONSTRUCT, CONSTRUCT.baseline_source)
    other = evaluate_in_process(CONSTRUCT, LOOK_BACK)
    assert other.valid and [o.score for o in other.per_instance] != [o.score for o in seed.per_instance]


@pytest.mark.parametrize("body,fragment", [
    ("return -np.outer(to_current, to_start)", "shape"),  # a matrix, not one number per unvisited city
    ("return float(to_current.min())", "shape"),  # one number for all of them
    ("return [float('nan')] * len(to_current)", "non-finite"),
    ("return ['a'] * len(to_current)", "not numbers"),
])
def test_what_the_priority_returns_is_checked(body, fragment):
    source = f"import numpy as np\ndef next_city_priority(to_current, to_start, to_nearest):\n    {body}\n"
    result = evaluate_in_process(CONSTRUCT, source)
    assert not result.valid and result.failure.value == "bad_output" and fragment in result.message


def test_through_the_sandbox_the_scores_are_the_in_process_ones():
    with Evaluator(CONSTRUCT, limits=SandboxLimits(wall_seconds=20.0)) as evaluator:
        sandboxed = evaluator.evaluate(LOOK_BACK)
    assert sandboxed.valid
    assert [o.score for o in sandboxed.per_instance] == [o.score for o in evaluate_in_process(CONSTRUCT, LOOK_BACK).per_instance]


def test_to_nearest_is_each_unvisited_citys_distance_to_its_nearest_unvisited_neighbour():
    matrix = np.array([[0, 1, 4, 6], [1, 0, 2, 5], [4, 2, 0, 3], [6, 5, 3, 0]], dtype=float)
    matrix.setflags(write=False)  # as the cached matrices are: the helper must not write to it
    assert CONSTRUCT.module._nearest_other(matrix, np.array([1, 2, 3])).tolist() == [2, 2, 3]
    assert CONSTRUCT.module._nearest_other(matrix, np.array([2, 3])).tolist() == [3, 3]


def test_the_forced_last_city_is_not_asked_about_so_dividing_by_to_nearest_is_valid():
    # to_nearest is 0 only when one city is left: a priority that divides by it is valid for every real choice
    source = "def next_city_priority(to_current, to_start, to_nearest):\n    return -to_current / to_nearest\n"
    result = evaluate_in_process(CONSTRUCT, source)
    assert result.valid, result.message
    seed = evaluate_in_process(CONSTRUCT, CONSTRUCT.baseline_source)
    assert [o.score for o in result.per_instance] != [o.score for o in seed.per_instance]


def test_the_priority_sees_distances_in_neighbour_units_so_a_formula_picks_the_same_tour_at_any_scale():
    # squaring a distance made train50 winners fail on TSPLIB, whose distances are ~100x larger; in neighbour units
    # the same formula visits the same cities in the same order on a copy of the map blown up 1000-fold
    source = "def next_city_priority(to_current, to_start, to_nearest):\n    return -to_current ** 2 + 0.5 * to_start\n"
    unit_square = CONSTRUCT.load_split("train50")[:3]
    blown_up = [dict(i, coords=(np.asarray(i["coords"]) * 1000.0).tolist()) for i in unit_square]
    small, large = (evaluate_in_process(CONSTRUCT, source, instances=batch) for batch in (unit_square, blown_up))
    assert small.valid and large.valid
    assert [o.score * 1000.0 for o in small.per_instance] == pytest.approx([o.score for o in large.per_instance])
    matrix = np.array([[0, 1, 4], [1, 0, 2], [4, 2, 0]], dtype=float)  # nearest neighbours at 1, 1 and 2
    assert CONSTRUCT.module._in_neighbour_units(matrix).tolist() == (matrix * 0.75).tolist()
