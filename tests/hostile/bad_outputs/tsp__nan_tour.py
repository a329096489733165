def build_tour(distance_matrix):
    return [float("nan")] * len(distance_matrix)
