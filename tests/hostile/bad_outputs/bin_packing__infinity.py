import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    return np.where(bins == bins.min(), np.inf, -(bins - item))
