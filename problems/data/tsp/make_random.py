"""Generate the random TSP datasets (uniform; one clustered) and their reference lengths (run once; not by the tests).

    python problems/data/tsp/make_random.py            # needs `pip install elkai` (LKH-3)

Writes random_tsp20.json, random_tsp50.json, random_tsp100.json, random_tsp200.json (64 instances each, the
test splits) and random_train50.json (16 instances of 50 cities from a different seed: the split the search
evolves on, so that the test splits stay held out); `python problems/data/tsp/make_random.py clustered_train100`
writes clustered_train100.json (16 instances of 100 clustered cities, another seed: a training set unlike the
uniform ones, for benchmarks/tsp_construct_reach.py --train).

Each uniform instance: cities uniform in the unit square, drawn with numpy's default_rng(seed), rounded to 6
decimals (the stored coordinates are the instance). Each clustered instance: CLUSTERS centres uniform in the unit
square, each city a centre drawn uniformly plus a normal offset of standard deviation CLUSTER_SD, rounded the same
way (chosen before any result on it was seen; TSPLIB's maps are often of this kind: drilling boards, towns).
The distance is the float Euclidean distance. The reference is the
length, under that distance, of the tour LKH-3 (elkai 2.x, RUNS = 10) finds on the distance matrix scaled by 1e6
and rounded to integers (LKH works on integer costs). For these sizes LKH is optimal or within a tiny fraction of
a percent of it, so gaps against the reference read as gaps to the optimum.

File schema:
    {"name", "n", "seed", "distance": "euclidean", "solver",
     "instances": [{"name", "coords": [[x, y], ...], "reference": float, "reference_tour": [int, ...]}]}
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SETS = (  # file stem, cities, instances, seed
    ("random_tsp20", 20, 64, 20_2024),
    ("random_tsp50", 50, 64, 50_2024),
    ("random_tsp100", 100, 64, 100_2024),
    ("random_tsp200", 200, 64, 200_2024),
    ("random_train50", 50, 16, 50_7777),
    ("clustered_train100", 100, 16, 100_7777),
)
CLUSTERS = 10
CLUSTER_SD = 0.04
RUNS = 10
SCALE = 1_000_000


def euclidean_matrix(coords: np.ndarray) -> np.ndarray:
    diff = coords[:, None, :] - coords[None, :, :]
    return np.sqrt((diff ** 2).sum(axis=-1))


def tour_length(coords: np.ndarray, tour: list[int]) -> float:
    ordered = coords[tour]
    return float(np.sqrt(((ordered - np.roll(ordered, -1, axis=0)) ** 2).sum(axis=1)).sum())


def lkh_tour(coords: np.ndarray) -> list[int]:
    import elkai

    scaled = np.rint(euclidean_matrix(coords) * SCALE).astype(int).tolist()
    tour = elkai.DistanceMatrix(scaled).solve_tsp(runs=RUNS)
    tour = tour[:-1] if tour[0] == tour[-1] else tour
    if sorted(tour) != list(range(len(coords))):
        raise RuntimeError("elkai returned a tour that is not a permutation")
    return [int(c) for c in tour]


def cities(rng: np.random.Generator, n: int, clustered: bool) -> np.ndarray:
    if not clustered:
        return np.round(rng.random((n, 2)), 6)
    centres = rng.random((CLUSTERS, 2))
    return np.round(centres[rng.integers(0, CLUSTERS, n)] + rng.normal(0.0, CLUSTER_SD, (n, 2)), 6)


def make_set(stem: str, n: int, count: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    instances = []
    for i in range(count):
        coords = cities(rng, n, stem.startswith("clustered"))
        tour = lkh_tour(coords)
        instances.append({"name": f"{stem.removeprefix('random_')}_{i:03d}", "coords": coords.tolist(),
                          "reference": round(tour_length(coords, tour), 9), "reference_tour": tour})
    return {"name": stem, "n": n, "seed": seed, "distance": "euclidean",
            "solver": f"elkai (LKH-3), RUNS = {RUNS}, integer matrix scaled by {SCALE}", "instances": instances}


def write_set(path: Path, data: dict) -> None:
    """One instance per line, so diffs stay readable."""
    head = {k: v for k, v in data.items() if k != "instances"}
    lines = [json.dumps(inst, separators=(",", ":")) for inst in data["instances"]]
    text = json.dumps(head)[:-1] + ', "instances": [\n' + ",\n".join(lines) + "\n]}\n"
    json.loads(text)  # the file must parse
    path.write_text(text)


def main(argv: list[str]) -> None:
    wanted = set(argv) or {s[0] for s in SETS if s[0].startswith("random_")}
    for stem, n, count, seed in SETS:
        if stem not in wanted:
            continue
        start = time.time()
        data = make_set(stem, n, count, seed)
        write_set(HERE / f"{stem}.json", data)
        mean = sum(inst["reference"] for inst in data["instances"]) / count
        print(f"{stem}: {count} x {n} cities, mean reference length {mean:.4f}, {time.time() - start:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
