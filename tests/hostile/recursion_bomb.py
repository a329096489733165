def priority(value: float, position: int) -> float:
    return priority(value, position + 1) + 1.0
