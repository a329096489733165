import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    return np.zeros((len(bins), 2))
