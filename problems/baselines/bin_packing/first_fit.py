def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """First fit: every bin that can take the item gets the same priority, so argmax picks the lowest index."""
    return np.zeros_like(bins)
