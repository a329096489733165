"""The run's ledger, wired to its configuration: hardware profiles, model specs, budget, wall clock.

Stored per sample and per evaluation: measured and modelled cost in dollars. A sample is priced on the
prompt tokens the engine really computed (prompt_tokens - cached_tokens: llama.cpp and vLLM reuse a shared
prompt prefix from the KV cache), so token budgets count computed tokens too.
On resume the ledger is rebuilt by charging the stored rows again, so a
resumed run never counts a cost twice.
"""
from __future__ import annotations

import time

from funsearch.config import RunConfig
from funsearch.cost.budget import Budget, BudgetUnit, Ledger
from funsearch.cost.hardware import load_hardware
from funsearch.proposers.base import Completion
from funsearch.records import EvalResult


class Accounts:
    """Charges every sample and evaluation; answers whether another sample fits the budget."""

    def __init__(self, cfg: RunConfig):
        from funsearch.weights.registry import resolve_model

        self.table = load_hardware()
        budget = Budget.parse(cfg.budget) if cfg.budget else None
        measured = self.table.get(cfg.hardware)
        modelled = self.table.get(cfg.price_as) if cfg.price_as else None
        calibration = None
        if cfg.calibration:
            from funsearch.cost.calibrate import load_calibration
            calibration = load_calibration(cfg.calibration)
        self.ledger = Ledger(budget, measured, modelled, calibration=calibration, backend=None,
                             modelled_batch=cfg.modelled_batch)
        self.specs = {size: resolve_model(size) for size in cfg.model_sizes}
        self.started = time.monotonic()

    def charge_sample(self, size: str, completion: Completion) -> tuple[float, float]:
        u = completion.usage
        busy = u.busy_seconds if u.busy_seconds > 0 else u.seconds
        charge = self.ledger.charge_sample(u.prompt_tokens - u.cached_prompt_tokens, u.completion_tokens, busy,
                                           self.specs[size])
        self.tick()
        return charge.measured_dollars, charge.modelled_dollars

    def charge_evaluation(self, result: EvalResult) -> None:
        self.ledger.charge_evaluation(max(result.cpu_seconds, 0.0), max(result.seconds, 0.0))
        self.tick()

    def evaluation_costs(self, result: EvalResult) -> tuple[float, float]:
        from funsearch.cost.roofline import evaluation_cost
        dollars = evaluation_cost(max(result.cpu_seconds, 0.0), self.ledger.measured_hw)
        return dollars, dollars

    def tick(self) -> None:
        self.ledger.note_elapsed(time.monotonic() - self.started)

    def would_exceed(self, in_flight: list[tuple[str, int]]) -> bool:
        self.tick()
        budget = self.ledger.budget
        if budget is None:
            return False
        if budget.unit is BudgetUnit.WALL_SECONDS:
            return self.ledger.exhausted()
        return self.ledger.would_exceed(in_flight=sum(n for _, n in in_flight))

    def describe(self) -> str:
        b = self.ledger.budget
        if b is None:
            t = self.ledger.totals
            return f"${t.measured_dollars:.4f} measured, ${t.modelled_dollars:.4f} modelled"
        return f"{self.ledger.spent():.4g}/{b.amount:.4g} {b.unit.value}"

    def restore_from_store(self, store) -> None:
        """Charge the stored rows again (fresh ledger), and carry over the earlier sessions' wall time."""
        for row in store.samples():
            busy = row["busy_seconds"] if (row["busy_seconds"] or 0) > 0 else (row["seconds"] or 0.0)
            self.ledger.charge_sample((row["prompt_tokens"] or 0) - (row["cached_tokens"] or 0),
                                      row["completion_tokens"] or 0, busy,
                                      self.specs.get(row["model"]) or next(iter(self.specs.values())))
        for row in store.evaluations():
            self.ledger.charge_evaluation(row["cpu_seconds"] or 0.0, row["seconds"] or 0.0)
        saved = store.meta("ledger") or {}
        wall = (saved.get("totals") or {}).get("wall_seconds", 0.0)
        self.ledger.carry_wall_seconds(float(wall))
        self.tick()

    def to_dict(self) -> dict:
        self.tick()
        return self.ledger.to_dict()
