def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Best fit: the fuller the bin (the less room left after the item), the higher the priority."""
    return -(bins - item)
