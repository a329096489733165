def priority(value: float, position: int) -> float:
    raise KeyboardInterrupt
