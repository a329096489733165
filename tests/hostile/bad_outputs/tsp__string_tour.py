def build_tour(distance_matrix):
    return [str(i) for i in range(len(distance_matrix))]
