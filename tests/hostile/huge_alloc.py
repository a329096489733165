import numpy as np


def priority(value: float, position: int) -> float:
    table = np.ones(50 * 10**9 // 8)
    return float(table[position]) * value
