def priority(value: float, position: int) -> float:
    while True:
        value = value * 1.0000001
    return value
