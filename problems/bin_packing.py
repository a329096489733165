"""Online bin packing.

Items arrive one at a time, in a fixed order, and each must be placed immediately
into a bin of fixed capacity; a placed item never moves. The goal is to use as few
bins as possible. The heuristic is a `priority` function: for the current item it
scores every bin that still has room, and the item goes into the bin with the
highest score (ties go to the lowest index). Bins start empty, so an empty bin is
how a new bin gets opened.
"""
import json
import math
from pathlib import Path

import numpy as np

import funsearch

SPLITS = ("or1", "or2", "or3", "or4", "weibull_5k")
# OR1 (20 instances x 120 items) evaluates in a few tens of milliseconds, so the search spends its time on
# proposals, not on evaluation; OR2-OR4 and Weibull 5k then measure how a heuristic generalises to longer
# sequences (and, for Weibull, to another item distribution).
TRAIN_SPLIT = "or1"

DATA_DIR = Path(__file__).resolve().parent / "data" / "bin_packing"


def instances_from_json(data: dict) -> list[dict]:
    """Instances from one dataset file ({"capacity", "instances": [{"name", "items"}], "l1_bounds"?})."""
    capacity = data["capacity"]
    instances = []
    for i, raw in enumerate(data["instances"]):
        items = [int(x) for x in raw["items"]]
        l1 = math.ceil(sum(items) / capacity)
        stored = data.get("l1_bounds")
        if stored is not None and stored[i] != l1:
            raise ValueError(f"instance {raw['name']}: stored L1 bound {stored[i]} != ceil(sum/capacity) = {l1}")
        instances.append({"name": raw["name"], "capacity": capacity, "items": items, "l1_bound": l1})
    return instances


def load_split(name: str) -> list[dict]:
    with open(DATA_DIR / f"{name}.json") as f:
        return instances_from_json(json.load(f))


@funsearch.evolve
def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Returns a priority for each bin; the item goes into the bin with the highest priority.

    Args:
      item: size of the item to be placed.
      bins: remaining capacities of the bins that can take the item (every entry is >= item).

    Returns:
      An array of the same shape as `bins` with one priority per bin.
    """
    return -(bins - item)


@funsearch.run
def solve(instance: dict) -> list[int]:
    """Packs the items in arrival order; returns the bin index chosen for each item."""
    items = instance["items"]
    bins = np.full(len(items), float(instance["capacity"]))
    assignment = []
    for item in items:
        item = float(item)
        valid = np.nonzero(bins - item >= 0)[0]
        # numbers, finite, one per bin: np.argmax would rank NaN or strings too (funsearch.BadOutput otherwise)
        scores = funsearch.finite_numbers(priority(item, bins[valid]), shape=valid.shape, what="priority")
        best = int(valid[int(np.argmax(scores))])
        bins[best] -= item
        assignment.append(best)
    return assignment


def score(instance: dict, solution) -> float:
    """Minus the number of bins used, after checking the assignment is complete and no bin overflows."""
    items = instance["items"]
    capacity = instance["capacity"]
    if not isinstance(solution, list):
        raise funsearch.InvalidSolution(f"solution must be a list of bin indices, got {type(solution).__name__}")
    if len(solution) != len(items):
        raise funsearch.InvalidSolution(f"solution has {len(solution)} bin indices for {len(items)} items")
    loads: dict[int, int] = {}
    for position, (item, b) in enumerate(zip(items, solution)):
        if type(b) is not int or not 0 <= b < len(items):
            raise funsearch.InvalidSolution(f"item {position}: bin index {b!r} is not an integer in [0, {len(items)})")
        loads[b] = loads.get(b, 0) + item
        if loads[b] > capacity:
            raise funsearch.InvalidSolution(f"item {position}: bin {b} holds {loads[b]} > capacity {capacity}")
    return -float(len(loads))


def metrics(instances: list[dict], solutions: list, scores: list[float]) -> dict[str, float]:
    """excess_bins_pct: 100 * (sum of bins - sum of L1 bounds) / sum of L1 bounds (a ratio of means); mean_bins."""
    bins = [-s for s in scores]
    l1 = [inst.get("l1_bound") or math.ceil(sum(inst["items"]) / inst["capacity"]) for inst in instances]
    return {
        "excess_bins_pct": 100.0 * (sum(bins) - sum(l1)) / sum(l1),
        "mean_bins": sum(bins) / len(bins),
    }
