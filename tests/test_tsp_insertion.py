"""problems/tsp_insertion.py: the insertion TSP grows the tour as a plain loop-by-loop insertion would, starts from
nearest insertion, guards what the priority returns, and evaluates through the real sandbox."""
import math

import numpy as np
import pytest

from funsearch.problem.evaluator import Evaluator, evaluate_in_process
from funsearch.problem.loader import load_problem
from funsearch.sandbox.limits import SandboxLimits
from tests.test_tsp import ROOT

INSERTION = load_problem(ROOT / "problems" / "tsp_insertion.py")
FARTHEST = "def insertion_priority(to_tour, insertion_cost, to_start):\n    return to_tour\n"


def reference_tour(coords, key) -> list[int]:
    """Insertion written out with loops: the outside city with the highest key(to_tour, cost, to_start) (first on
    ties) goes where the closed tour grows least (first such place); the last city is not asked about."""
    d = [[math.dist(a, b) for b in coords] for a in coords]
    tour, outside = [0], list(range(1, len(coords)))
    while outside:
        best = None
        for i, city in enumerate(outside):
            growths = [d[tour[k]][city] + d[city][tour[(k + 1) % len(tour)]] - d[tour[k]][tour[(k + 1) % len(tour)]]
                       for k in range(len(tour))]
            place = growths.index(min(growths))
            value = 0.0 if len(outside) == 1 else key(min(d[t][city] for t in tour), growths[place], d[0][city])
            if best is None or value > best[0]:
                best = (value, i, place)
        _, i, place = best
        tour.insert(place + 1, outside.pop(i))
    return tour


@pytest.mark.parametrize("source,key", [
    (INSERTION.baseline_source, lambda to_tour, cost, to_start: -to_tour),
    (FARTHEST, lambda to_tour, cost, to_start: to_tour),
    ("def insertion_priority(to_tour, insertion_cost, to_start):\n    return to_start - insertion_cost\n",
     lambda to_tour, cost, to_start: to_start - cost),
])
def test_tours_are_the_ones_a_loop_by_loop_insertion_builds(source, key):
    # the reference works in raw distances: every key here is linear, so neighbour units change no choice
    instances = INSERTION.load_split("train50")[:4]
    result = evaluate_in_process(INSERTION, source, instances=instances)
    assert result.valid, result.message
    for instance, outcome in zip(instances, result.per_instance):
        tour = reference_tour(instance["coords"], key)
        assert sorted(tour) == list(range(len(instance["coords"])))
        assert outcome.score == pytest.approx(INSERTION.score(instance, tour))


def test_the_seed_is_nearest_insertion_and_farthest_insertion_beats_it_on_train50():
    seed = evaluate_in_process(INSERTION, INSERTION.baseline_source)
    farthest = evaluate_in_process(INSERTION, FARTHEST)
    assert seed.valid and farthest.valid
    assert farthest.metrics["gap_pct"] < seed.metrics["gap_pct"]


def test_cheapest_insertions_are_the_least_growth_and_where_it_is():
    # cities on a line at 0, 1, 3 and 6; the tour 0 -> 1 -> 0 (length 2)
    coords = [0.0, 1.0, 3.0, 6.0]
    matrix = np.array([[abs(a - b) for b in coords] for a in coords])
    matrix.setflags(write=False)  # as the cached matrices are: the helper must not write to it
    growth, place = INSERTION.module._cheapest_insertions(matrix, [0, 1], np.array([2, 3]))
    assert growth.tolist() == [4.0, 10.0] and place.tolist() == [0, 0]
    growth, place = INSERTION.module._cheapest_insertions(matrix, [0], np.array([1, 3]))
    assert growth.tolist() == [2.0, 12.0] and place.tolist() == [0, 0]  # a one-city tour: there and back


@pytest.mark.parametrize("body,fragment", [
    ("return -np.outer(to_tour, to_start)", "shape"),  # a matrix, not one number per outside city
    ("return float(to_tour.min())", "shape"),  # one number for all of them
    ("return [float('nan')] * len(to_tour)", "non-finite"),
    ("return ['a'] * len(to_tour)", "not numbers"),
])
def test_what_the_priority_returns_is_checked(body, fragment):
    source = f"import numpy as np\ndef insertion_priority(to_tour, insertion_cost, to_start):\n    {body}\n"
    result = evaluate_in_process(INSERTION, source)
    assert not result.valid and result.failure.value == "bad_output" and fragment in result.message


def test_writing_to_the_inputs_changes_nothing_outside():
    source = ("def insertion_priority(to_tour, insertion_cost, to_start):\n    priority = to_tour.copy()\n"
              "    to_tour[:] = 0.0\n    insertion_cost[:] = 0.0\n    to_start[:] = 0.0\n    return priority\n")
    written, clean = (evaluate_in_process(INSERTION, s) for s in (source, FARTHEST))
    assert written.valid and [o.score for o in written.per_instance] == [o.score for o in clean.per_instance]


def test_through_the_sandbox_the_scores_are_the_in_process_ones():
    with Evaluator(INSERTION, limits=SandboxLimits(wall_seconds=20.0)) as evaluator:
        sandboxed = evaluator.evaluate(FARTHEST)
    assert sandboxed.valid
    assert [o.score for o in sandboxed.per_instance] == [o.score for o in evaluate_in_process(INSERTION, FARTHEST).per_instance]


def test_a_formula_picks_the_same_tour_at_any_scale():
    source = "def insertion_priority(to_tour, insertion_cost, to_start):\n    return to_tour ** 2 - insertion_cost\n"
    unit_square = INSERTION.load_split("train50")[:3]
    blown_up = [dict(i, coords=(np.asarray(i["coords"]) * 1000.0).tolist()) for i in unit_square]
    small, large = (evaluate_in_process(INSERTION, source, instances=batch) for batch in (unit_square, blown_up))
    assert small.valid and large.valid
    assert [o.score * 1000.0 for o in small.per_instance] == pytest.approx([o.score for o in large.per_instance])
