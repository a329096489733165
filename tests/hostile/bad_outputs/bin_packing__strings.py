import numpy as np


def priority(item: float, bins: np.ndarray) -> np.ndarray:
    return np.array([f"bin {int(b)}" for b in bins])  # np.argmax ranks strings too
