def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """FunSearch's heuristic for the OR-Library sets (Romera-Paredes et al., Nature 2024, and the bin packing
    notebook of google-deepmind/funsearch; 2.47 % excess bins on OR4). A step function of the room a bin would
    have left: a near-exact fit is best (4), then 3, 2, 1; among loose fits the ranking turns around, so a
    bin with much room left (0.99) beats one with a middling gap (0.9 for 8-9 units). One Python call per bin,
    as the published program does it (its evaluation time is part of the point)."""
    steps = ((2, 4.0), (3, 3.0), (5, 2.0), (7, 1.0), (9, 0.9), (12, 0.95), (15, 0.97), (21, 0.98))

    def step(room: float) -> float:
        for bound, value in steps:
            if room <= bound:
                return value
        return 0.99

    return np.array([step(b - item) for b in bins])
