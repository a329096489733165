"""Symmetric travelling salesman problem (TSP), built by insertion: find a short closed tour.

The tour starts as city 0 alone. At each step the heuristic `insertion_priority(to_tour, insertion_cost, to_start)`
scores every city not in the tour yet; the one with the highest score (ties go to the first) is inserted between
the two consecutive tour cities where it lengthens the tour least. The last city is forced, so the heuristic is not
asked about it. Its inputs are distances, one entry per city outside the tour: to the nearest city of the tour, the
increase of the tour's length if the city were inserted now, and to city 0, each in units of the instance's mean
nearest-neighbour distance (so one formula means the same on cities in the unit square and on TSPLIB's maps). The
score is minus the tour length, so shorter tours are better.
"""
# Design: problems/tsp_construct.py's next-city priority stops near 17 % on TSPLIB, however it is tuned on train50
# (docs/search-yield.md, "TSP at the targets' sample count"): a greedy walk cannot express another construction.
# Here the order in which cities join the tour is evolved and where each goes is fixed (the cheapest place), a
# family with the classic insertion heuristics in it, still one number per city so that every elementwise formula
# is a valid tour. The seed is nearest insertion (the city closest to the tour joins first): 19.9 % on train50 and
# 21.6 % on TSPLIB, near nearest neighbour's 24.2 and 23.4 %. Instances, splits and the trusted length are
# problems/tsp.py's (loaded from the file beside this one, never imported by name), so results compare directly.
import importlib.util
from pathlib import Path

import numpy as np

import funsearch


def _shipped_tsp():
    """problems/tsp.py, loaded under a private module name (its instances, splits, distances and score)."""
    spec = importlib.util.spec_from_file_location("funsearch_shipped_tsp_for_insertion",
                                                  Path(__file__).resolve().parent / "tsp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_TSP = _shipped_tsp()
SPLITS = _TSP.SPLITS
TRAIN_SPLIT = _TSP.TRAIN_SPLIT
load_split = _TSP.load_split
score = _TSP.score


def instances_from_json(data: dict, path: Path) -> list[dict]:
    """`funsearch eval --instances FILE`: the files problems/tsp.py reads."""
    return _TSP.instances_from_json(data, path)


@funsearch.evolve
def insertion_priority(to_tour: np.ndarray, insertion_cost: np.ndarray, to_start: np.ndarray) -> np.ndarray:
    """Returns a priority for each city outside the tour; the highest joins the tour next, where it costs least.

    Distances are in units of the instance's mean nearest-neighbour distance (about 1 between neighbouring cities).

    Args:
      to_tour: to_tour[i] is the distance from outside city i to the nearest city of the tour.
      insertion_cost: insertion_cost[i] is how much longer the tour gets if city i is inserted now.
      to_start: to_start[i] is the distance from outside city i to city 0, where the tour started.

    Returns:
      One number per outside city (the same length as to_tour).
    """
    return -to_tour


def _in_neighbour_units(matrix: np.ndarray) -> np.ndarray:
    """The distances divided by the mean over cities of the distance to the nearest other city (1 if that is 0)."""
    off_diagonal = matrix + np.diag(np.full(len(matrix), np.inf))
    unit = float(off_diagonal.min(axis=1).mean()) if len(matrix) > 1 else 0.0
    return matrix / unit if unit > 0 else matrix.copy()


def _cheapest_insertions(matrix: np.ndarray, tour: list[int], outside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each outside city: the least increase of the closed tour's length over the places it could go, and the
    index of the tour city it would follow there (a one-city tour is a loop of length 0: the increase is 2 d)."""
    here = np.asarray(tour)
    after = np.roll(here, -1)
    increase = matrix[np.ix_(outside, here)] + matrix[np.ix_(outside, after)] - matrix[here, after][None, :]
    place = increase.argmin(axis=1)
    return increase[np.arange(len(outside)), place], place


@funsearch.run
def solve(instance: dict) -> list[int]:
    """Grows the tour from city 0 with insertion_priority; returns the order."""
    matrix = _in_neighbour_units(_TSP.distance_matrix(instance))
    tour = [0]
    outside = np.arange(1, len(matrix))
    to_tour = matrix[0, outside].copy()
    while len(outside) > 0:
        cost, place = _cheapest_insertions(matrix, tour, outside)
        if len(outside) == 1:  # forced: nothing to choose
            chosen = 0
        else:  # fresh arrays every step: the candidate may write to its inputs
            priorities = insertion_priority(to_tour.copy(), cost.copy(), matrix[0, outside])
            scores = funsearch.finite_numbers(priorities, shape=outside.shape, what="insertion_priority")
            chosen = int(np.argmax(scores))
        city = int(outside[chosen])
        tour.insert(int(place[chosen]) + 1, city)
        outside = np.delete(outside, chosen)
        to_tour = np.minimum(np.delete(to_tour, chosen), matrix[city, outside])
    return tour


def metrics(instances: list[dict], solutions: list, scores: list[float]) -> dict[str, float]:
    """problems/tsp.py's metrics: the gap to each instance's reference tour and the mean length."""
    return _TSP.metrics(instances, solutions, scores)
