def priority(el: tuple[int, ...], n: int) -> float:
    return -el.count(2)  # ints are numbers: fine (the {0, 1}^n cap set)
