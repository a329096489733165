import numpy as np


def priority(value: float, position: int) -> float:
    return float("inf")


def solve(instance: dict):
    return np.full(len(instance["values"]), np.inf)
