def priority(value: float, position: int) -> float:
    return float(position)


def solve(instance: dict) -> list[int]:
    return list(range(3 * 10**6))
