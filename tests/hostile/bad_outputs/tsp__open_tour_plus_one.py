def build_tour(distance_matrix):
    n = len(distance_matrix)
    return list(range(n)) + [1]  # n + 1 cities, the last one is not the first: not a closed tour
