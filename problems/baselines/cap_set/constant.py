def priority(el: tuple[int, ...], n: int) -> float:
    """Constant priority: the vectors are tried in lexicographic order, which yields the 2^n vectors of {0, 1}^n."""
    return 0.0
