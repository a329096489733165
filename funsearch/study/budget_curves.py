"""Budget curves: a run's state at each smaller budget, read from its ledger rows (one long run, every budget).

`budget_checkpoints` is pure (rows in, states out); spend is `Totals.spent_in` on the modelled side, the
definition a run's ledger checks its budget with. `run_rows` reads a finished cell's ledger rows
(store/history.py) and gives its results.csv rows, one per budget checkpoint up to the budget the cell ran to.
"""
from __future__ import annotations

from pathlib import Path

from funsearch.cost.budget import BudgetUnit, Totals
from funsearch.study.cells import Cell
from funsearch.study.experiment import ExperimentConfig


def _best_by_sample(programs: list[dict]) -> dict[int, tuple[float, str]]:
    """sample id (-1: the seed) -> (best score, its hash) among the programs it registered."""
    best: dict[int, tuple[float, str]] = {}
    for p in programs:
        sid = p["sample_id"] if p["sample_id"] is not None else -1
        if p["score"] is not None and (sid not in best or p["score"] > best[sid][0]):
            best[sid] = (p["score"], p["hash"])
    return best


def _state(totals: Totals, unit: BudgetUnit, valid: int, best: tuple, islands: "_Islands", eval_cost: float) -> dict:
    return {"spent": totals.spent_in(unit, "modelled"), "samples": totals.samples, "valid": valid,
            "tokens": totals.tokens, "measured_cost": totals.measured_dollars,
            "modelled_cost": totals.modelled_dollars, "eval_cost": eval_cost, "improvements": islands.improvements,
            "gain": islands.gain, "score": best[0], "hash": best[1]}


class _Islands:
    """Each island's best score as programs register in sample order, every island starting at the seed's.

    Counts the programs that beat their island's best (improvements) and the score they added (gain). The
    database's island resets (weak islands restarted from a strong one's best) are not in the store, so after
    a reset the island's best here is the one before it: an approximation that can miss or add improvements.
    """

    def __init__(self, start: float | None):
        self.start, self.best, self.improvements, self.gain = start, {}, 0, 0.0

    def register(self, island, score: float | None) -> None:
        if score is None:
            return
        before = self.best.get(island, self.start)
        if before is None or score > before:
            self.improvements += 1
            self.gain += 0.0 if before is None else score - before
            self.best[island] = score


def _better(found: tuple | None, best: tuple) -> tuple:
    return found if found and (best[0] is None or found[0] > best[0]) else best


def budget_checkpoints(samples: list[dict], evaluations: list[dict], programs: list[dict], amounts, unit: BudgetUnit,
                       price_per_hour: float | None = None, stop_reason: str | None = None) -> list[dict]:
    """The run's state at each budget: walk samples in id order with cumulative spend, keep the last state <= b.

    Each sample adds to the totals: its modelled dollars plus those of the evaluation it triggered (the seed
    program's evaluation, sample_id -1, is spent first); its modelled GPU-seconds (its modelled dollars at the
    price-as profile's hourly price); its prompt + completion tokens; one sample.
    Each state: spent, samples, valid (new valid programs), tokens, measured_cost, modelled_cost (dollars),
    eval_cost (the modelled dollars of evaluations among them), improvements and gain (programs that beat
    their island's best so far, and the score they added: `_Islands`), best score, its program hash,
    reached (whether the run spent b: its total passed b, or it stopped because
    its budget, the largest of `amounts`, could not pay for another sample).
    """
    evals = {e["sample_id"]: e for e in evaluations}
    best_by_sample = _best_by_sample(programs)
    registered: dict[int, list] = {}
    for p in programs:
        registered.setdefault(p["sample_id"] if p["sample_id"] is not None else -1, []).append(p)
    seed_eval = evals.get(-1)
    totals, valid, best, eval_cost = Totals(), 0, (None, None), 0.0
    if seed_eval is not None:
        totals = totals.plus(measured_dollars=seed_eval["measured_cost"] or 0.0,
                             modelled_dollars=seed_eval["modelled_cost"] or 0.0)
        eval_cost = seed_eval["modelled_cost"] or 0.0
        if seed_eval["valid"]:
            best = (seed_eval["score"], seed_eval["program_hash"])
    islands = _Islands(best[0])
    best = _better(best_by_sample.get(-1), best)
    states = [_state(totals, unit, valid, best, islands, eval_cost)]
    for s in samples:
        e = evals.get(s["id"]) or {}
        eval_cost += e.get("modelled_cost") or 0.0
        modelled = (s["modelled_cost"] or 0.0) + (e.get("modelled_cost") or 0.0)
        totals = totals.plus(
            samples=1, prompt_tokens=s["prompt_tokens"] or 0, completion_tokens=s["completion_tokens"] or 0,
            measured_dollars=(s["measured_cost"] or 0.0) + (e.get("measured_cost") or 0.0), modelled_dollars=modelled,
            modelled_gpu_seconds=(s["modelled_cost"] or 0.0) * 3600 / price_per_hour if price_per_hour else 0.0)
        valid += int(s["failure"] is None and s["program_hash"] is not None and bool(e.get("valid", 1)))
        best = _better(best_by_sample.get(s["id"]), best)
        for p in registered.get(s["id"], ()):
            islands.register(p.get("island"), p["score"])
        states.append(_state(totals, unit, valid, best, islands, eval_cost))
    total = states[-1]["spent"]
    out = []
    for amount in amounts:
        within = [st for st in states if st["spent"] <= amount * (1 + 1e-9)] or states[:1]
        reached = total >= amount * (1 - 1e-9) or stop_reason == "budget"
        out.append(dict(within[-1], budget_amount=amount, reached=reached))
    return out


def metric_of(metrics: dict | None) -> tuple[str, float | None]:
    """The problem's headline metric: the first one its metrics() returns."""
    if not metrics:
        return "", None
    name = next(iter(metrics))
    return name, metrics[name]


def run_rows(exp: ExperimentConfig, cell: Cell, run_dir: Path) -> list[dict]:
    """results.csv rows of a finished cell, read from its run store."""
    from funsearch.store.history import ledger_rows

    return rows_of(exp, cell, ledger_rows(run_dir))


def rows_of(exp: ExperimentConfig, cell: Cell, rows_in) -> list[dict]:
    """results.csv rows of a finished cell from its ledger rows (store/history.py's LedgerRows)."""
    from funsearch.cost.hardware import load_hardware

    price = load_hardware().get(exp.price_as).price_per_hour if exp.price_as else None
    amounts = exp.budget_amounts[: cell.budget_index + 1]
    metrics_by_hash = {e["program_hash"]: e["metrics"] for e in rows_in.evaluations if e["valid"]}
    seed_eval = next((e for e in rows_in.evaluations if e["sample_id"] == -1), None)
    states = budget_checkpoints(rows_in.samples, rows_in.evaluations, rows_in.programs, amounts, exp.budget_unit,
                                price, rows_in.stop_reason)
    rows = []
    for text, state in zip(exp.budgets, states):
        name, value = metric_of(metrics_by_hash.get(state["hash"]))
        rows.append({
            "problem": Path(cell.problem).stem, "size": cell.arm, "mode": cell.mode, "seed": cell.seed,
            "budget": text, "budget_amount": state["budget_amount"], "unit": exp.budget_unit.value,
            "score": state["score"], "metric_name": name, "metric": value,
            "baseline_score": seed_eval["score"] if seed_eval else None, "samples": state["samples"],
            "valid": state["valid"], "valid_rate": state["valid"] / state["samples"] if state["samples"] else 0.0,
            "tokens": state["tokens"], "measured_cost": state["measured_cost"],
            "modelled_cost": state["modelled_cost"], "eval_cost": state["eval_cost"],
            "improvements": state["improvements"], "gain": state["gain"], "spent": state["spent"],
            "reached": state["reached"], "run_budget": exp.budgets[cell.budget_index],
            "stop_reason": rows_in.stop_reason, "cell": cell.key})
    return rows
