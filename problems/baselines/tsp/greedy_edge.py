def build_tour(distance_matrix: np.ndarray) -> list[int]:
    """Greedy edge (greedy matching): take edges from shortest to longest, keeping an edge when both ends have
    degree < 2 and it closes no cycle, until the edges form one path; then close the path into a tour."""
    d = distance_matrix
    n = len(d)
    if n < 3:
        return list(range(n))
    rows, cols = np.triu_indices(n, k=1)
    order = np.argsort(d[rows, cols], kind="stable")
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    degree = [0] * n
    neighbours = [[] for _ in range(n)]
    added = 0
    for e in order:
        i, j = int(rows[e]), int(cols[e])
        if degree[i] == 2 or degree[j] == 2:
            continue
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        parent[ri] = rj
        degree[i] += 1
        degree[j] += 1
        neighbours[i].append(j)
        neighbours[j].append(i)
        added += 1
        if added == n - 1:
            break
    start = next(c for c in range(n) if degree[c] == 1)
    tour = [start]
    previous = -1
    while len(tour) < n:
        here = tour[-1]
        step = next(c for c in neighbours[here] if c != previous)
        previous = here
        tour.append(step)
    return tour
