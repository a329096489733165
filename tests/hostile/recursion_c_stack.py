import json
import sys


def priority(value: float, position: int) -> float:
    sys.setrecursionlimit(10**8)
    nested = []
    for _ in range(2 * 10**5):
        nested = [nested]
    return float(len(json.dumps(nested)))
