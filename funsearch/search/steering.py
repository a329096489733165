"""Copy steering (pure): an island whose last samples were copies or no-ops samples hotter next time.

A completion that reproduces a known program (same normalised AST) or a parent's behaviour (same outputs on
the probe instances) was paid for and taught nothing. Asking the same kind of prompt again at the same
temperature mostly buys another copy, so each island keeps a streak of such samples, and its next prompt is
sampled at `base + step * min(streak, max_steps)`; any other outcome ends the streak. New parents and (for
the edit and idea strategies) a new edit point or operator are drawn for every prompt anyway.
The streaks are registered in sample order and saved with the database, so runs stay reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, field

REPEATS = ("copy", "noop")  # outcomes that extend a streak; anything else ends it


@dataclass
class Steering:
    """Per-island streaks of copies and no-ops, and the temperature they ask for.

    Attributes:
      step: temperature added per sample in the streak.
      max_steps: the streak length beyond which the temperature stops rising.
      enabled: False keeps every island at the base temperature (the classic loop).
      streaks: island -> current streak length.
    """

    step: float = 0.2
    max_steps: int = 3
    enabled: bool = True
    streaks: dict[int, int] = field(default_factory=dict)

    def note(self, island: int, outcome: str) -> None:
        """Record one registered sample of `island`: "copy", "noop", or anything else (ends the streak)."""
        if outcome in REPEATS:
            self.streaks[island] = self.streaks.get(island, 0) + 1
        else:
            self.streaks.pop(island, None)

    def streak(self, island: int) -> int:
        return self.streaks.get(island, 0)

    def temperature(self, base: float, island: int) -> float:
        """The sampling temperature for the next prompt of `island`."""
        if not self.enabled:
            return base
        return round(base + self.step * min(self.streak(island), self.max_steps), 6)

    def to_dict(self) -> dict:
        return {"step": self.step, "max_steps": self.max_steps, "enabled": self.enabled,
                "streaks": {str(k): v for k, v in self.streaks.items()}}

    @classmethod
    def from_dict(cls, data: dict | None, enabled: bool = True) -> "Steering":
        if not data:
            return cls(enabled=enabled)
        return cls(float(data["step"]), int(data["max_steps"]), bool(data["enabled"]),
                   {int(k): int(v) for k, v in data["streaks"].items()})
