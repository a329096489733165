"""Symmetric travelling salesman problem (TSP), built one city at a time: find a short closed tour.

The tour starts at city 0. At each step the heuristic `next_city_priority(to_current, to_start, to_nearest)` scores
every city not visited yet, and the tour goes to the one with the highest score (ties go to the first); the last
city is forced, so the heuristic is not asked about it. Its inputs
are distances, one entry per unvisited city: from the current city, to the start (the tour returns there after the
last city), and to the nearest other unvisited city, each in units of the instance's mean nearest-neighbour distance
(so one formula means the same on cities in the unit square and on TSPLIB's maps). The score is minus the tour
length, so shorter tours are better.
"""
# Design: the constructive half of TSP as a priority over the unvisited cities (the shape of ReEvo's and EoH's TSP
# heuristics, and of bin packing here). problems/tsp.py evolves the whole tour instead (any construction plus local
# search, a larger space); there the 0.5B model mostly copies nearest neighbour or breaks it. The inputs are three
# distance vectors, one entry per unvisited city, so that every elementwise formula is a valid tour: given the
# indices and the matrix, the small model indexed it with positions instead of cities, and given the submatrix
# between unvisited cities it returned matrices (docs/search-yield.md has the counts). Instances, splits and the
# trusted length are problems/tsp.py's (loaded from the file beside this one, never imported by name): the same
# train50 and held-out splits, so the two problems' results compare directly.
import importlib.util
from pathlib import Path

import numpy as np

import funsearch


def _shipped_tsp():
    """problems/tsp.py, loaded under a private module name (its instances, splits, distances and score)."""
    spec = importlib.util.spec_from_file_location("funsearch_shipped_tsp_for_construct",
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
def next_city_priority(to_current: np.ndarray, to_start: np.ndarray, to_nearest: np.ndarray) -> np.ndarray:
    """Returns a priority for each unvisited city as the next city of the tour; the highest is visited next.

    Distances are in units of the instance's mean nearest-neighbour distance (about 1 between neighbouring cities).

    Args:
      to_current: to_current[i] is the distance from the current city to unvisited city i.
      to_start: to_start[i] is the distance from unvisited city i to the start of the tour (where it ends).
      to_nearest: to_nearest[i] is the distance from unvisited city i to the nearest other unvisited city.

    Returns:
      One number per unvisited city (the same length as to_current).
    """
    return -to_current


def _nearest_other(matrix: np.ndarray, unvisited: np.ndarray) -> np.ndarray:
    """For each of two or more unvisited cities, the distance to the nearest other unvisited city."""
    between = matrix[np.ix_(unvisited, unvisited)]
    np.fill_diagonal(between, np.inf)
    return between.min(axis=1)


def _in_neighbour_units(matrix: np.ndarray) -> np.ndarray:
    """The distances divided by the mean over cities of the distance to the nearest other city (1 if that is 0)."""
    off_diagonal = matrix + np.diag(np.full(len(matrix), np.inf))
    unit = float(off_diagonal.min(axis=1).mean()) if len(matrix) > 1 else 0.0
    return matrix / unit if unit > 0 else matrix.copy()


@funsearch.run
def solve(instance: dict) -> list[int]:
    """Builds the tour from city 0 with next_city_priority; returns the order."""
    matrix = _in_neighbour_units(_TSP.distance_matrix(instance))
    tour = [0]
    unvisited = np.arange(1, len(matrix))
    while len(unvisited) > 1:  # fresh arrays every step: the candidate may write to its inputs
        priorities = next_city_priority(matrix[tour[-1], unvisited], matrix[0, unvisited],
                                        _nearest_other(matrix, unvisited))
        scores = funsearch.finite_numbers(priorities, shape=unvisited.shape, what="next_city_priority")
        chosen = int(np.argmax(scores))
        tour.append(int(unvisited[chosen]))
        unvisited = np.delete(unvisited, chosen)
    # The last city is forced. Asking about it anyway (to_nearest would be 0 there, with no other city left) failed
    # candidates that divide by to_nearest or take its log at that step only: 9 of the 134 failures of the TSP
    # runs in docs/results/diverge_ablation.
    return tour + [int(city) for city in unvisited]


def metrics(instances: list[dict], solutions: list, scores: list[float]) -> dict[str, float]:
    """problems/tsp.py's metrics: the gap to each instance's reference tour and the mean length."""
    return _TSP.metrics(instances, solutions, scores)
