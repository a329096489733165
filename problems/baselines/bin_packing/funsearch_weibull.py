def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """FunSearch's heuristic for Weibull instances (Romera-Paredes et al., Nature 2024, Fig. 2 / the bin packing
    notebook of google-deepmind/funsearch). A sum of squared-room terms scaled by powers of 1/item, negated for
    bins with more room than the item, then differenced along the bins: each bin's score minus its left
    neighbour's (the first bin keeps its own)."""
    scores = (bins - bins.max()) ** 2 / item + bins ** 2 / item ** 2 + bins ** 2 / item ** 3
    roomy = bins > item
    scores[roomy] = -scores[roomy]
    return np.concatenate((scores[:1], np.diff(scores)))
