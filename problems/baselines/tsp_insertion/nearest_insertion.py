import numpy as np


def insertion_priority(to_tour: np.ndarray, insertion_cost: np.ndarray, to_start: np.ndarray) -> np.ndarray:
    """Nearest insertion (the seed): the city closest to the tour joins it next."""
    return -to_tour
