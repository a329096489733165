"""Symmetric travelling salesman problem (TSP): find a short closed tour through all cities.

The heuristic is a function `build_tour(distance_matrix)` that returns the order in which to visit the cities:
every city 0..n-1 exactly once; the tour returns from the last city to the first. `distance_matrix[i, j]` is the
distance between cities i and j (symmetric, zero diagonal). The score is minus the tour length, so shorter tours
are better. The function may construct a tour (nearest neighbour, insertion, greedy edge, savings, ...) and may
then improve it (2-opt, or-opt, ...), within a time limit of a few seconds per evaluation.
"""
# Design: the evolved function builds the WHOLE tour from the distance matrix. A "select the next node"
# interface (ReEvo-style) can express only nearest-neighbour-like construction; insertion heuristics, greedy
# edge and local search after construction cannot be written as a next-node choice. With the whole tour as the
# unit, every classic baseline (problems/baselines/tsp/) is a candidate of the same function and the search can
# move between construction and improvement freely. The distance matrix (not coordinates) keeps the interface
# independent of the metric: TSPLIB instances use integer nint distances, random ones float Euclidean.
# The sandboxed driver checks the returned order is a permutation; the trusted score re-checks it and recomputes
# the length from the instance's coordinates, never trusting the sandbox's matrix.
import json
from pathlib import Path

import numpy as np

import funsearch

SPLITS = ("train50", "tsp20", "tsp50", "tsp100", "tsp200", "tsplib_small", "tsplib")
# train50: 16 random 50-city instances from their own seed; an evaluation of nearest neighbour takes a few ms and
# of NN + 2-opt about a tenth of a second, and the test splits (tsp20..tsp200, TSPLIB) stay held out.
TRAIN_SPLIT = "train50"

DATA_DIR = Path(__file__).resolve().parent / "data" / "tsp"
RANDOM_FILES = {"train50": "random_train50.json", "tsp20": "random_tsp20.json", "tsp50": "random_tsp50.json",
                "tsp100": "random_tsp100.json", "tsp200": "random_tsp200.json"}
TSPLIB_SMALL_MAX = 200  # tsplib_small: the TSPLIB instances with at most this many cities


def parse_tsplib(text: str) -> dict:
    """Parse a TSPLIB EUC_2D file: {"name", "n", "coords"}. Accepts `KEY : VALUE` and `KEY: VALUE` headers,
    integer, decimal and scientific-notation coordinates, blank lines and a missing EOF."""
    header: dict[str, str] = {}
    coords: dict[int, tuple[float, float]] = {}
    in_coords = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line == "EOF":
            break
        if line.startswith("NODE_COORD_SECTION"):
            in_coords = True
            continue
        if in_coords:
            parts = line.split()
            if len(parts) != 3:
                raise ValueError(f"line {number}: expected 'id x y', got {line!r}")
            coords[int(parts[0])] = (float(parts[1]), float(parts[2]))
        elif ":" in line:
            key, value = line.split(":", 1)
            header[key.strip().upper()] = value.strip()
        else:
            raise ValueError(f"line {number}: expected 'KEY : VALUE', got {line!r}")
    if header.get("EDGE_WEIGHT_TYPE") != "EUC_2D":
        raise ValueError(f"EDGE_WEIGHT_TYPE is {header.get('EDGE_WEIGHT_TYPE')!r}, only EUC_2D is supported")
    n = int(header.get("DIMENSION", len(coords)))
    if sorted(coords) != list(range(1, n + 1)):
        raise ValueError(f"NODE_COORD_SECTION has ids other than 1..{n} ({len(coords)} nodes)")
    return {"name": header.get("NAME", ""), "n": n, "coords": [list(coords[i]) for i in range(1, n + 1)]}


def _load_tsplib(max_cities: int | None, index: dict | None = None, folder: Path = DATA_DIR) -> list[dict]:
    """Instances from a TSPLIB index ({name: {"n", "optimal", "file"}}, files relative to `folder`)."""
    if index is None:
        index = json.loads((DATA_DIR / "tsplib.json").read_text())
    instances = []
    for name, entry in index.items():
        if max_cities is not None and entry["n"] > max_cities:
            continue
        parsed = parse_tsplib((folder / entry["file"]).read_text())
        if parsed["n"] != entry["n"]:
            raise ValueError(f"{entry['file']}: {parsed['n']} cities, index says {entry['n']}")
        instances.append({"name": name, "coords": parsed["coords"], "distance": "euc_2d",
                          "reference": entry["optimal"]})
    return instances


def _random_instances(data: dict) -> list[dict]:
    return [{"name": inst["name"], "coords": inst["coords"], "distance": data["distance"],
             "reference": inst["reference"]} for inst in data["instances"]]


def instances_from_json(data: dict, path: Path) -> list[dict]:
    """`funsearch eval --instances FILE`: a random-instances file like data/tsp/random_tsp50.json, or a TSPLIB
    index like shared/data/tsp/tsplib.json (its .tsp files next to it)."""
    instances = _random_instances(data) if "instances" in data else _load_tsplib(None, data, Path(path).parent)
    for instance in instances:
        distance_matrix(instance)
    return instances


def load_split(name: str) -> list[dict]:
    if name in RANDOM_FILES:
        instances = _random_instances(json.loads((DATA_DIR / RANDOM_FILES[name]).read_text()))
    elif name in ("tsplib", "tsplib_small"):
        instances = _load_tsplib(TSPLIB_SMALL_MAX if name == "tsplib_small" else None)
    else:
        raise ValueError(f"unknown split {name!r}")
    for instance in instances:
        distance_matrix(instance)  # warm the cache (a forked sandbox child inherits it)
    return instances


def distances(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    """Distance between the points a[..., :] and b[..., :] (broadcast): TSPLIB EUC_2D nint, or float Euclidean."""
    exact = np.sqrt(((a - b) ** 2).sum(axis=-1))
    if kind == "euc_2d":
        return np.floor(exact + 0.5)
    if kind == "euclidean":
        return exact
    raise ValueError(f"unknown distance {kind!r}")


_MATRIX_CACHE: dict[tuple, np.ndarray] = {}
_MATRIX_CACHE_LIMIT = 256


def distance_matrix(instance: dict) -> np.ndarray:
    """The instance's full distance matrix (cached by its coordinates and distance kind; do not modify it)."""
    coords = np.asarray(instance["coords"], dtype=float)
    key = (instance["distance"], coords.shape, coords.tobytes())
    matrix = _MATRIX_CACHE.get(key)
    if matrix is None:
        matrix = distances(coords[:, None, :], coords[None, :, :], instance["distance"])
        matrix.setflags(write=False)
        if len(_MATRIX_CACHE) >= _MATRIX_CACHE_LIMIT:
            _MATRIX_CACHE.clear()
        _MATRIX_CACHE[key] = matrix
    return matrix


@funsearch.evolve
def build_tour(distance_matrix: np.ndarray) -> list[int]:
    """Returns a short closed tour: every city 0..n-1 exactly once, in visiting order.

    Args:
      distance_matrix: n x n array; distance_matrix[i, j] is the distance between cities i and j (symmetric).

    Returns:
      A list (or 1-D integer array) of the n city indices in the order they are visited.
    """
    n = len(distance_matrix)
    tour = [0]
    unvisited = np.ones(n, dtype=bool)
    unvisited[0] = False
    for _ in range(n - 1):
        candidates = np.where(unvisited, distance_matrix[tour[-1]], np.inf)
        nearest = int(np.argmin(candidates))
        tour.append(nearest)
        unvisited[nearest] = False
    return tour


def as_tour(order, n: int) -> list[int]:
    """The order as a list of ints if it is a permutation of 0..n-1; otherwise funsearch.BadOutput (one line).
    A closed tour (n + 1 cities, the last one the first again, as models often write it) counts as its n cities."""
    array = funsearch.finite_numbers(order, what="build_tour")
    if array.ndim == 1 and array.shape[0] == n + 1 and n > 0 and array[0] == array[-1]:
        array = array[:-1]
    if array.ndim != 1 or array.shape[0] != n:
        raise funsearch.BadOutput(f"tour must be a 1-D sequence of {n} cities, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        if array.dtype.kind != "f" or not np.all(array == np.round(array)):
            raise funsearch.BadOutput(f"tour must hold integer city indices, got dtype {array.dtype}")
        array = array.astype(np.int64)
    if not np.array_equal(np.sort(array), np.arange(n)):
        raise funsearch.BadOutput(f"tour is not a permutation of 0..{n - 1} (duplicate or missing cities)")
    return [int(c) for c in array]


@funsearch.run
def solve(instance: dict) -> list[int]:
    """Builds a tour with build_tour on a private copy of the distance matrix; returns the city order."""
    matrix = np.array(distance_matrix(instance))
    return as_tour(build_tour(matrix), len(matrix))


def tour_length(instance: dict, tour: list[int]) -> float:
    """Length of the closed tour under the instance's distance, from the coordinates."""
    ordered = np.asarray(instance["coords"], dtype=float)[tour]
    return float(distances(ordered, np.roll(ordered, -1, axis=0), instance["distance"]).sum())


def score(instance: dict, solution) -> float:
    """Minus the tour length, after checking the solution visits every city exactly once."""
    n = len(instance["coords"])
    if not isinstance(solution, list) or len(solution) != n:
        raise funsearch.InvalidSolution(f"solution must be a list of {n} city indices")
    if not all(type(c) is int for c in solution):
        raise funsearch.InvalidSolution("solution holds something other than integer city indices")
    if sorted(solution) != list(range(n)):
        raise funsearch.InvalidSolution(f"solution is not a permutation of 0..{n - 1} (duplicate or missing cities)")
    return -tour_length(instance, solution)


def metrics(instances: list[dict], solutions: list, scores: list[float]) -> dict[str, float]:
    """gap_pct: mean over instances of 100 * (length - reference) / reference; mean_length."""
    lengths = [-s for s in scores]
    gaps = [100.0 * (length - inst["reference"]) / inst["reference"] for inst, length in zip(instances, lengths)]
    return {"gap_pct": sum(gaps) / len(gaps), "mean_length": sum(lengths) / len(lengths)}
