def priority(el: tuple[int, ...], n: int) -> float:
    return float("nan")
