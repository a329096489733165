def build_tour(distance_matrix: np.ndarray) -> list[int]:
    """Farthest insertion: start from city 0 and the city farthest from it; repeatedly take the city farthest
    from the tour (largest distance to its nearest tour city) and insert it where it lengthens the tour least."""
    d = distance_matrix
    n = len(d)
    if n < 3:
        return list(range(n))
    first = int(np.argmax(d[0]))
    tour = [0, first]
    in_tour = np.zeros(n, dtype=bool)
    in_tour[[0, first]] = True
    to_tour = np.minimum(d[0], d[first])
    for _ in range(n - 2):
        city = int(np.argmax(np.where(in_tour, -np.inf, to_tour)))
        a = np.array(tour)
        b = np.roll(a, -1)
        cost = d[a, city] + d[city, b] - d[a, b]
        position = int(np.argmin(cost))
        tour.insert(position + 1, city)
        in_tour[city] = True
        to_tour = np.minimum(to_tour, d[city])
    return tour
