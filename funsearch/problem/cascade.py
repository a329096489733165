"""The evaluation cascade (pure): judge a candidate on a few probe instances before the whole split.

A candidate first runs on the split's first `probe` instances. Compared with its parents there it is
- a no-op (FailureKind.NOOP) when its outputs equal one parent's on every probe instance: new text, same
  behaviour (e.g. a bin packing priority shifted by a constant), so it is not evaluated further;
- a clear loser (FailureKind.CASCADE_STOP) when its mean probe score is below the worst parent's by more
  than `margin` times that parent's magnitude (scores are higher-is-better);
- otherwise it goes on to the rest of the split, and the result is exactly that of a full evaluation.
A split no longer than the probe (cap set's one instance) is not staged: the candidate runs on all of it, and
the no-op check then applies to the whole split (`whole_split_noop`), so a rewrite that behaves exactly like a
parent (`return 1.0` for `return 0.0`) is still recognised instead of entering the database as a new program.
Everything here is data (Ray ships it to the evaluator actor) and decisions are deterministic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from funsearch.records import EvalResult, FailureKind


@dataclass(frozen=True)
class ParentProbe:
    """What the cascade knows of one parent: its outputs and scores on the probe instances.

    Attributes:
      fingerprints: per probe instance, the hash of the parent's raw solution.
      scores: per probe instance, the parent's score.
    """

    fingerprints: tuple[str, ...]
    scores: tuple[float, ...]

    @classmethod
    def of(cls, result: EvalResult, probe: int) -> "ParentProbe | None":
        """The first `probe` instances of a valid result (all of them when the split is shorter; None when it
        is not valid)."""
        if not result.valid or not result.per_instance or probe <= 0:
            return None
        head = result.per_instance[:probe]
        return cls(tuple(o.fingerprint for o in head), tuple(float(o.score) for o in head))


@dataclass(frozen=True)
class CascadeRule:
    """How to stage one candidate's evaluation.

    Attributes:
      probe: probe instances (the first ones of the split); 0 or >= the split's size means no staging.
      parents: the probes of the candidate's parents (no-op and loser checks are against these).
      noop: stop programs that behave like a parent on the probe.
      margin: stop programs whose mean probe score is below the worst parent's by more than
        margin * |that score|; None never stops on score.
    """

    probe: int
    parents: tuple[ParentProbe, ...] = ()
    noop: bool = True
    margin: float | None = 0.1

    def stages(self, total: int) -> bool:
        """Whether a split of `total` instances is evaluated in two stages."""
        return 0 < self.probe < total and (self.noop or self.margin is not None) and bool(self.parents)

    def verdict(self, probe_result: EvalResult) -> tuple[FailureKind, str] | None:
        """(NOOP or CASCADE_STOP, one line) to stop after the probe, or None to evaluate the rest."""
        if not probe_result.valid:
            return None
        mine = probe_result.fingerprints
        twin = self._twin(mine)
        if twin is not None:
            return FailureKind.NOOP, f"same outputs as parent {twin} on the {len(mine)} probe instances"
        if self.margin is not None:
            worst = min(_mean(p.scores) for p in self.parents)
            got = _mean(probe_result.signature)
            if got < worst - self.margin * abs(worst):
                return (FailureKind.CASCADE_STOP, f"probe mean {got:.6g} is more than {self.margin:.0%} below the "
                        f"worst parent's {worst:.6g}")
        return None

    def whole_split_noop(self, result: EvalResult) -> tuple[FailureKind, str] | None:
        """(NOOP, one line) when a valid result of a split that was not staged equals a parent's outputs on
        every instance; None otherwise (and for a split the probe does not cover: the staged path judges it)."""
        if not result.valid or not (0 < len(result.per_instance) <= self.probe):
            return None
        twin = self._twin(result.fingerprints)
        if twin is None:
            return None
        return FailureKind.NOOP, f"same outputs as parent {twin} on all {len(result.per_instance)} instances"

    def _twin(self, fingerprints: tuple[str, ...]) -> int | None:
        """The index of the first parent whose probe fingerprints equal these (None: no such parent)."""
        if not self.noop:
            return None
        for k, parent in enumerate(self.parents):
            if parent.fingerprints == fingerprints:
                return k
        return None


def _mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values) if values else -math.inf
