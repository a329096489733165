"""Per-island sampling structures of the program database: clusters, islands and their cached weights.

Each island keeps its cluster scores, and each cluster its program lengths, in growable numpy arrays
(`_Grow`) with the cumulative sampling weights cached (`_cumulative`). Registering appends (O(1)
amortised); sampling extends the cache for new entries and draws by binary search (`_draw`). The cache
is rebuilt (O(clusters), vectorised) only when the island's score range changes or the temperature
moves to its next step. The sampling rules themselves are described in database.py.
"""
from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from funsearch.search.database import ProgramRecord


class _Grow:
    """A float64 array with amortised O(1) append."""

    __slots__ = ("data", "n")

    def __init__(self, values=()) -> None:
        values = np.asarray(values, dtype=np.float64)
        self.data = np.empty(max(8, 2 * len(values)))
        self.data[: len(values)] = values
        self.n = len(values)

    def append(self, value: float) -> None:
        if self.n == len(self.data):
            self.data = np.concatenate([self.data, np.empty(len(self.data))])
        self.data[self.n] = value
        self.n += 1

    def extend(self, values: np.ndarray) -> None:
        need = self.n + len(values)
        if need > len(self.data):
            self.data = np.concatenate([self.data[: self.n], np.empty(max(need, 2 * len(self.data)) - self.n)])
        self.data[self.n: need] = values
        self.n = need

    def view(self) -> np.ndarray:
        return self.data[: self.n]


def _cumulative(cache: _Grow | None, key: tuple, cache_key: tuple | None, values: _Grow,
                weights) -> tuple[_Grow, tuple]:
    """Cumulative weights for `values`, reusing `cache` when `key` is unchanged (appending new entries)."""
    if cache is None or key != cache_key:
        return _Grow(np.cumsum(weights(values.view()))), key
    if cache.n < values.n:
        new = weights(values.view()[cache.n:])
        cache.extend(np.cumsum(np.concatenate(([cache.data[cache.n - 1]], new)))[1:])
    return cache, cache_key


def _draw(cdf: np.ndarray, u: float, taken: list[int]) -> int | None:
    """Index drawn with probability proportional to its weight, skipping `taken`; None if no mass is left."""
    starts = [cdf[j - 1] if j else 0.0 for j in taken]
    sizes = [cdf[j] - s for j, s in zip(taken, starts)]
    left = cdf[-1] - sum(sizes)
    if not left > 0:
        return None
    x = u * left
    for _, start, size in sorted(zip(taken, starts, sizes)):
        if x >= start:
            x += size
    i = min(int(np.searchsorted(cdf, x, side="right")), len(cdf) - 1)
    return None if i in taken else i


class Cluster:
    """Programs of one score signature; `pick` prefers shorter ones (softmax of minus normalised length)."""

    __slots__ = ("score", "ids", "lengths", "lo", "hi", "cdf", "key")

    def __init__(self, score: float) -> None:
        self.score, self.ids, self.lengths = score, [], _Grow()
        self.lo, self.hi, self.cdf, self.key = math.inf, -math.inf, None, None

    def add(self, pid: int, length: int) -> None:
        self.ids.append(pid)
        self.lengths.append(length)
        self.lo, self.hi = min(self.lo, length), max(self.hi, length)

    def pick(self, u: float, temperature: float) -> int:
        if len(self.ids) == 1:
            return self.ids[0]
        lo, span = self.lo, (self.hi - self.lo) * temperature or 1.0
        self.cdf, self.key = _cumulative(self.cdf, (self.lo, self.hi), self.key, self.lengths,
                                         lambda v: np.exp(-(v - lo) / span))
        return self.ids[_draw(self.cdf.view(), u, [])]


class Island:
    """One island: its clusters by signature, program hashes, registered-sample count and best program."""

    __slots__ = ("clusters", "index", "scores", "hashes", "samples", "best", "lo", "hi", "cdf", "key")

    def __init__(self) -> None:
        self.clusters: list[Cluster] = []
        self.index: dict[tuple, int] = {}
        self.scores, self.hashes, self.samples, self.best = _Grow(), {}, 0, None
        self.lo, self.hi, self.cdf, self.key = math.inf, -math.inf, None, None

    def add(self, record: ProgramRecord) -> None:
        c = self.index.get(record.signature)
        if c is None:
            c = self.index[record.signature] = len(self.clusters)
            self.clusters.append(Cluster(record.score))
            self.scores.append(record.score)
            self.lo, self.hi = min(self.lo, record.score), max(self.hi, record.score)
        self.clusters[c].add(record.id, record.length)
        self.hashes[record.hash] = record.id
        if self.best is None or record.score > self.best.score:
            self.best = record

    def choose(self, k: int, temperature: float, rng: random.Random) -> list[int]:
        """k distinct cluster indices, softmax-weighted by normalised score, in ascending score."""
        hi, span = self.hi, (self.hi - self.lo) * temperature or 1.0
        self.cdf, self.key = _cumulative(self.cdf, (temperature, self.lo, self.hi), self.key, self.scores,
                                         lambda v: np.exp((v - hi) / span))
        cdf, taken = self.cdf.view(), []
        for _ in range(min(k, len(self.clusters))):
            i = _draw(cdf, rng.random(), taken)
            if i is None:                            # all remaining weight underflowed: T -> 0 limit
                rest = self.scores.view().copy()
                rest[taken] = -np.inf
                i = int(np.argmax(rest))
            taken.append(i)
        return sorted(taken, key=lambda i: self.clusters[i].score)
