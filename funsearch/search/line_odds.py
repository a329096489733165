"""Learned divergence lines (pure): at which line of a parent to make the model change it, from what changes there gave.

Forced divergence (funsearch/program/divergence.py) stops a copy of each parent at a random simple statement of its
body, so the model changes that line or one before it. Where the seed is a tight algorithm, most of its lines
cannot change without breaking the output's contract: on the whole-tour TSP (nearest neighbour written out), small's
changes to `tour = [0]`, the loop's bound or `return tour` gave tours of 49 cities, indices shifted by one and
shape errors, 64 % of samples (docs/search-yield.md). With `diverge_lines = "learned"` each line is keyed by its
text (whitespace collapsed, so a line shared by many parents pools its evidence) and a Beta(1, 1) posterior counts
whether the samples made to diverge there gave a valid program (valid, a no-op or a cascade stop: the contract
held) or not (an error, a bad output, a timeout, a copy). A draw takes the candidate line with the highest
Thompson sample, so a line never tried draws from the prior and every line is still tried now and then.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Sequence

from funsearch.program.divergence import code_line


def line_key(line: str) -> str:
    """A body line as the odds know it: code only, whitespace collapsed."""
    return " ".join(code_line(line).split())


@dataclass
class LineOdds:
    """Per line text, how the samples made to diverge there turned out.

    Attributes:
      counts: line key -> [valid programs, failures] among the samples that diverged at that line.
    """

    counts: dict[str, list[int]] = field(default_factory=dict)

    def choose(self, body: Sequence[str], candidates: Sequence[int], rng: random.Random) -> int:
        """The index (one of `candidates`, indices into `body`) with the highest Thompson sample."""
        def draw(i: int) -> float:
            good, bad = self.counts.get(line_key(body[i]), (0, 0))
            return rng.betavariate(1 + good, 1 + bad)
        return max(candidates, key=draw)

    def record(self, line: str, valid: bool) -> None:
        """One sample that diverged at `line` gave a valid program (`valid`) or not."""
        entry = self.counts.setdefault(line_key(line), [0, 0])
        entry[0 if valid else 1] += 1

    def to_dict(self) -> dict:
        return {"counts": {k: list(v) for k, v in self.counts.items()}}

    @classmethod
    def from_dict(cls, data: dict | None) -> "LineOdds":
        return cls({str(k): [int(v[0]), int(v[1])] for k, v in ((data or {}).get("counts") or {}).items()})
