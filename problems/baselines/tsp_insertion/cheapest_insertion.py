import numpy as np


def insertion_priority(to_tour: np.ndarray, insertion_cost: np.ndarray, to_start: np.ndarray) -> np.ndarray:
    """Cheapest insertion: the city that lengthens the tour least joins it next."""
    return -insertion_cost
