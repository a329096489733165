import numpy as np


def priority(el: tuple[int, ...], n: int) -> float:
    return np.array(el, dtype=float)
