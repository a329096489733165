def build_tour(distance_matrix: np.ndarray) -> list[int]:
    """Nearest neighbour from city 0, then 2-opt: for each tour edge (a, b) find the edge (c, e) whose exchange
    for (a, c) and (b, e) shortens the tour most, reverse the segment b..c, and repeat until no exchange helps."""
    d = distance_matrix
    n = len(d)
    tour = [0]
    unvisited = np.ones(n, dtype=bool)
    unvisited[0] = False
    for _ in range(n - 1):
        nearest = int(np.argmin(np.where(unvisited, d[tour[-1]], np.inf)))
        tour.append(nearest)
        unvisited[nearest] = False
    tour = np.array(tour)
    improved = n >= 4
    while improved:
        improved = False
        for i in range(n - 2):
            a, b = tour[i], tour[i + 1]
            j = np.arange(i + 2, n if i > 0 else n - 1)
            c = tour[j]
            e = tour[(j + 1) % n]
            gain = d[a, b] + d[c, e] - d[a, c] - d[b, e]
            best = int(np.argmax(gain))
            if gain[best] > 1e-9:
                k = int(j[best])
                tour[i + 1:k + 1] = tour[i + 1:k + 1][::-1].copy()
                improved = True
    return [int(c) for c in tour]
