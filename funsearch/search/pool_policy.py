"""Which model size proposes the next sample: fixed shares, or a cost-aware bandit.

Both policies: `choose() -> size`, `update(size, improvement, cost)`, `stats()`, `to_dict()` / `policy_from_dict()`.
improvement = how much a sample raised the best score (0 for most samples); cost = its modelled cost
(the ledger's Charge.modelled_dollars or modelled_gpu_seconds; any one currency, used consistently).
Pure and seeded: the same seed and the same updates give the same choices.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence


class PolicyError(ValueError):
    """Invalid policy configuration or update. One-line message."""


@dataclass(frozen=True)
class SizeStats:
    """What one size has done so far.

    Attributes:
      samples: samples it proposed.
      cost: their total modelled cost.
      improvement: total increase of the best score its samples caused.
      improving: samples that raised the best score.
    """

    samples: int = 0
    cost: float = 0.0
    improvement: float = 0.0
    improving: int = 0

    @property
    def rate(self) -> float:
        """Improvement per unit cost (0 before any cost)."""
        return self.improvement / self.cost if self.cost > 0 else 0.0


class _Tally:
    def __init__(self, sizes: Sequence[str]) -> None:
        if not sizes or len(set(sizes)) != len(sizes):
            raise PolicyError(f"a pool policy needs distinct model sizes, got {list(sizes)}")
        self.sizes = tuple(sizes)
        self._stats = {s: SizeStats() for s in self.sizes}

    def update(self, size: str, improvement: float, cost: float) -> None:
        if size not in self._stats:
            raise PolicyError(f"unknown size {size!r}; the pool has: {', '.join(self.sizes)}")
        if improvement < 0 or cost < 0:
            raise PolicyError(f"improvement and cost must be >= 0, got {improvement} and {cost}")
        s = self._stats[size]
        self._stats[size] = SizeStats(s.samples + 1, s.cost + cost, s.improvement + improvement,
                                      s.improving + (improvement > 0))

    def stats(self) -> dict[str, dict]:
        """Per size: samples, cost, improvement, improving, rate (improvement per unit cost)."""
        return {k: {**asdict(v), "rate": v.rate} for k, v in self._stats.items()}

    def _load(self, stats: Mapping[str, Mapping]) -> None:
        for k, v in stats.items():
            self._stats[k] = SizeStats(int(v["samples"]), float(v["cost"]), float(v["improvement"]),
                                       int(v["improving"]))


class FixedShares(_Tally):
    """Each size gets a fixed share of samples, interleaved deterministically (smooth weighted round robin)."""

    def __init__(self, shares: Mapping[str, float]) -> None:
        super().__init__(list(shares))
        if any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
            raise PolicyError(f"shares must be >= 0 with a positive sum, got {dict(shares)}")
        total = sum(shares.values())
        self.shares = {k: v / total for k, v in shares.items()}
        self._credit = {k: 0.0 for k in self.sizes}

    def choose(self) -> str:
        for k in self.sizes:
            self._credit[k] += self.shares[k]
        pick = max(self.sizes, key=lambda k: self._credit[k])
        self._credit[pick] -= 1.0
        return pick

    def to_dict(self) -> dict:
        return {"kind": "fixed", "shares": dict(self.shares), "credit": dict(self._credit), "stats": self.stats()}


class CostAwareBandit(_Tally):
    """Thompson sampling on improvement per unit cost.

    Each size's rate has a Gamma posterior: shape = prior_improvement + improvement / u, rate = prior_cost +
    cost / c, where u is the mean improvement of improving samples (all sizes; 1 before any) and c the mean
    cost per sample (all sizes), which makes it scale-free. choose() draws one rate per size and takes the
    largest; each size is first tried `warmup` times. The prior (one mean improvement per mean-cost sample)
    is optimistic, so a size is dropped only after evidence.
    """

    def __init__(self, sizes: Sequence[str], seed: int = 0, prior_improvement: float = 1.0, prior_cost: float = 1.0,
                 warmup: int = 1) -> None:
        super().__init__(list(sizes))
        if prior_improvement <= 0 or prior_cost <= 0 or warmup < 0:
            raise PolicyError(f"need prior_improvement > 0, prior_cost > 0, warmup >= 0, got "
                              f"{prior_improvement}, {prior_cost}, {warmup}")
        self.seed, self.prior_improvement, self.prior_cost, self.warmup = seed, prior_improvement, prior_cost, warmup
        self._rng = random.Random(seed)

    def choose(self) -> str:
        for k in self.sizes:
            if self._stats[k].samples < self.warmup:
                return k
        all_ = self._stats.values()
        improving = sum(s.improving for s in all_)
        u = sum(s.improvement for s in all_) / improving if improving else 1.0
        n = sum(s.samples for s in all_)
        c = sum(s.cost for s in all_) / n if n else 1.0
        c = c if c > 0 else 1.0
        draws = {k: self._rng.gammavariate(self.prior_improvement + s.improvement / u, 1.0)
                 / (self.prior_cost + s.cost / c) for k, s in self._stats.items()}
        return max(self.sizes, key=lambda k: draws[k])

    def to_dict(self) -> dict:
        version, state, gauss = self._rng.getstate()
        return {"kind": "bandit", "sizes": list(self.sizes), "seed": self.seed,
                "prior_improvement": self.prior_improvement, "prior_cost": self.prior_cost, "warmup": self.warmup,
                "stats": self.stats(), "rng": [version, list(state), gauss]}


def policy_from_dict(data: Mapping) -> FixedShares | CostAwareBandit:
    """Restore a policy saved with to_dict(): same stats, same next choices."""
    if data.get("kind") == "fixed":
        p = FixedShares(data["shares"])
        p._credit = {k: float(v) for k, v in data["credit"].items()}
    elif data.get("kind") == "bandit":
        p = CostAwareBandit(data["sizes"], data["seed"], data["prior_improvement"], data["prior_cost"], data["warmup"])
        version, state, gauss = data["rng"]
        p._rng.setstate((version, tuple(state), gauss))
    else:
        raise PolicyError(f"unknown pool policy kind {data.get('kind')!r}; expected 'fixed' or 'bandit'")
    p._load(data["stats"])
    return p
