def build_tour(distance_matrix):
    return [float(i) for i in range(len(distance_matrix) - 1)] + [float("inf")]
