def priority(item, bins):
    return [-(b - item) for b in bins]  # numbers in a plain list: fine (best fit)
