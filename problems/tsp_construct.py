"""Symmetric travelling salesman problem (TSP), built one city at a time: find a short closed tour.

The tour starts at city 0. At each step the heuristic `next_city_priority(current, start, unvisited,
distance_matrix)` scores every city not visited yet, and the tour goes to the one with the highest score (ties go
to the first). After the last city the tour returns to the start. `distance_matrix[i, j]` is the distance between
cities i and j (symmetric, zero diagonal). The score is minus the tour length, so shorter tours are better.
"""
# Design: the constructive half of TSP as a priority function (the interface of ReEvo's and EoH's TSP heuristics,
# and of bin packing here). problems/tsp.py evolves the whole tour instead (any construction plus local search,
# a larger space); there the 0.5B model mostly copies nearest neighbour or breaks it (docs/search-yield.md).
# Here every change the model makes is one expression, a variant is always a valid tour, and nearest
# neighbour's known improvements (look-ahead, the distance back to the start, regret) are a line away. Instances,
# splits and the trusted length are problems/tsp.py's (loaded from the file beside this one, never imported by
# name): the same train50 and held-out splits, so the two problems' results compare directly.
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
def next_city_priority(current: int, start: int, unvisited: np.ndarray, distance_matrix: np.ndarray) -> np.ndarray:
    """Returns a priority for each unvisited city as the next city of the tour; the highest is visited next.

    Args:
      current: the city the tour is at.
      start: the city the tour started from (it returns there after the last city).
      unvisited: 1-D integer array of the cities not visited yet (never empty).
      distance_matrix: n x n array; distance_matrix[i, j] is the distance between cities i and j (symmetric).

    Returns:
      One number per city of `unvisited`, in the same order.
    """
    return -distance_matrix[current, unvisited]


@funsearch.run
def solve(instance: dict) -> list[int]:
    """Builds the tour from city 0 with next_city_priority (on a private copy of the matrix); returns the order."""
    matrix = np.array(_TSP.distance_matrix(instance))
    n = len(matrix)
    tour = [0]
    unvisited = np.arange(1, n)
    while len(unvisited):
        priorities = next_city_priority(tour[-1], 0, unvisited.copy(), matrix)
        scores = funsearch.finite_numbers(priorities, shape=unvisited.shape, what="next_city_priority")
        chosen = int(np.argmax(scores))
        tour.append(int(unvisited[chosen]))
        unvisited = np.delete(unvisited, chosen)
    return tour


def metrics(instances: list[dict], solutions: list, scores: list[float]) -> dict[str, float]:
    """problems/tsp.py's metrics: the gap to each instance's reference tour and the mean length."""
    return _TSP.metrics(instances, solutions, scores)
