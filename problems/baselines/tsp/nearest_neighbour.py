def build_tour(distance_matrix: np.ndarray) -> list[int]:
    """Nearest neighbour from city 0: always move to the closest unvisited city (ties: smallest index)."""
    n = len(distance_matrix)
    tour = [0]
    unvisited = np.ones(n, dtype=bool)
    unvisited[0] = False
    for _ in range(n - 1):
        candidates = np.where(unvisited, distance_matrix[tour[-1]], np.inf)
        nearest = int(np.argmin(candidates))
        tour.append(nearest)
        unvisited[nearest] = False
    return tour
