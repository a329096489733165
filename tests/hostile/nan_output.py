def priority(value: float, position: int) -> float:
    return float("nan")


def solve(instance: dict) -> list:
    return [float("nan")] * len(instance["values"])
