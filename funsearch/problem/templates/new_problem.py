"""PROBLEM_NAME: a 0/1 knapsack, filled greedily (replace this example with your problem).

The module docstring is shown to the model at the top of every prompt: say what the problem is, what the
evolved function decides, and what "better" means. Here: each instance has items with a value and a weight and a
knapsack capacity; items are considered from the highest priority to the lowest and packed when they still fit.
The score is the total value packed (higher is better).
"""
# This file is a complete, working problem; `funsearch check` passes on it. Edit it in place:
#   funsearch check problems/PROBLEM_NAME.py       # every defect, one line each
#   funsearch eval problems/PROBLEM_NAME.py CANDIDATE.py --split small --json
#   funsearch run problems/PROBLEM_NAME.py --model-size small --samples 50
# Imports at the top level (except funsearch itself) are shown to the model too: keep them to what the evolved
# function may use.
import numpy as np

import funsearch

# Named datasets. `funsearch run` evolves on TRAIN_SPLIT; keep it small, because every candidate is evaluated
# on all of its instances (aim for well under a second). The other splits measure generalisation.
SPLITS = ("small", "large")
TRAIN_SPLIT = "small"


def load_split(name: str) -> list[dict]:
    """Instances of one split: JSON-able dicts, each with a "name". Read files from problems/data/PROBLEM_NAME/
    (Path(__file__).parent / "data" / ...) or generate them with a fixed seed, as here."""
    sizes = {"small": (8, 30), "large": (4, 300)}  # instances, items per instance
    count, items = sizes[name]
    rng = np.random.default_rng(12345 if name == "small" else 67890)
    instances = []
    for i in range(count):
        values = rng.integers(1, 100, size=items)
        weights = rng.integers(1, 100, size=items)
        instances.append({"name": f"{name}_{i}", "values": values.tolist(), "weights": weights.tolist(),
                          "capacity": int(weights.sum() // 3)})
    return instances


# The function the model rewrites. Its body is the baseline; its docstring (required) is shown to the model.
# Candidates replace it inside the sandbox, so it must be self-contained apart from the module's imports.
@funsearch.evolve
def priority(value: float, weight: float, capacity: float) -> float:
    """Returns the priority of an item; items are tried from the highest priority down.

    Args:
      value: the item's value.
      weight: the item's weight.
      capacity: the knapsack's total capacity.
    """
    return value / weight


# The driver: runs in the sandbox, calls the evolved function by its global name, and returns a raw JSON-able
# solution (lists, dicts, numbers, strings). It never scores: a candidate could replace anything in this module.
@funsearch.run
def solve(instance: dict) -> list[int]:
    """Returns the indices of the packed items."""
    items = range(len(instance["values"]))
    # Check what the evolved function returned before using it: numbers, all finite, one per item. Anything else
    # (NaN, infinity, None, a string, an array per item) raises funsearch.BadOutput and the candidate fails as
    # bad_output with that one line, instead of sorted() ranking garbage. `funsearch check` warns without it.
    keys = funsearch.finite_numbers(
        [priority(float(instance["values"][i]), float(instance["weights"][i]), float(instance["capacity"]))
         for i in items], shape=(len(items),), what="priority")
    order = sorted(items, key=lambda i: -keys[i])  # stable: ties keep index order
    packed, load = [], 0
    for i in order:
        if load + instance["weights"][i] <= instance["capacity"]:
            packed.append(i)
            load += instance["weights"][i]
    return packed


# Trusted: runs in the harness on the JSON-decoded solution. Check everything (types, ranges, feasibility) and
# raise funsearch.InvalidSolution with a one-line message when a rule is broken. Higher is better.
def score(instance: dict, solution) -> float:
    n = len(instance["values"])
    if not isinstance(solution, list) or not all(type(i) is int and 0 <= i < n for i in solution):
        raise funsearch.InvalidSolution(f"solution must be a list of item indices in [0, {n})")
    if len(set(solution)) != len(solution):
        raise funsearch.InvalidSolution("an item is packed twice")
    weight = sum(instance["weights"][i] for i in solution)
    if weight > instance["capacity"]:
        raise funsearch.InvalidSolution(f"packed weight {weight} exceeds capacity {instance['capacity']}")
    return float(sum(instance["values"][i] for i in solution))


# Optional: human metrics over a split (shown by `funsearch eval` and `funsearch baselines`).
def metrics(instances: list[dict], solutions: list, scores: list[float]) -> dict[str, float]:
    return {"mean_value": sum(scores) / len(scores)}
