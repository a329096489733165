import numpy as np


def build_tour(distance_matrix: np.ndarray) -> list[int]:
    n = len(distance_matrix)
    tour = [0]
    unvisited = np.ones(n, dtype=bool)
    unvisited[0] = False
    for _ in range(n - 1):
        nearest = int(np.argmin(np.where(unvisited, distance_matrix[tour[-1]], np.inf)))
        tour.append(nearest)
        unvisited[nearest] = False
    return tour + [tour[0]]  # back to the start, written out: the n-city tour (nearest neighbour)
