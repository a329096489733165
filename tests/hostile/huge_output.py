def priority(value: float, position: int) -> float:
    return float(position)


def solve(instance: dict) -> list[str]:
    return ["x" * (3 * 10**6)]  # 3 MB of JSON in one string: over the cap at once, however busy the machine
