"""Budget checkpoints: a run's state at each smaller budget, read from its ledger (one long run, every budget).

`budget_checkpoints` is pure (rows in, states out); `run_rows` reads a finished cell's run store and gives
its results.csv rows, one per budget checkpoint up to the budget the cell ran to.
"""
from __future__ import annotations

from pathlib import Path

from funsearch.cost.budget import BudgetUnit
from funsearch.study.experiment import ExperimentConfig
from funsearch.study.cells import Cell


def budget_checkpoints(samples: list[dict], evaluations: list[dict], programs: list[dict], amounts, unit: BudgetUnit,
                       price_per_hour: float | None = None, stop_reason: str | None = None) -> list[dict]:
    """The run's state at each budget: walk samples in id order with cumulative spend, keep the last state <= b.

    Spend per sample in `unit`: dollars = modelled cost of the sample plus of the evaluation it triggered (the
    seed program's evaluation, sample_id -1, is spent first); gpu_seconds = the sample's modelled dollars at
    the price-as profile's hourly price; tokens = prompt + completion tokens; samples = 1.
    Each state: spent, samples, valid (new valid programs), tokens, measured_cost, modelled_cost (dollars),
    best score, its program hash, reached (whether the run spent b: its total passed b, or it stopped because
    its budget, the largest of `amounts`, could not pay for another sample).
    """
    evals = {e["sample_id"]: e for e in evaluations}
    best_by_sample: dict[int, tuple[float, str]] = {}
    for p in programs:
        sid = p["sample_id"] if p["sample_id"] is not None else -1
        if p["score"] is not None and (sid not in best_by_sample or p["score"] > best_by_sample[sid][0]):
            best_by_sample[sid] = (p["score"], p["hash"])
    seed_eval = evals.get(-1)
    state = {"spent": 0.0, "samples": 0, "valid": 0, "tokens": 0, "measured_cost": 0.0, "modelled_cost": 0.0,
             "score": None, "hash": None}
    if seed_eval is not None:
        state.update(measured_cost=seed_eval["measured_cost"] or 0.0, modelled_cost=seed_eval["modelled_cost"] or 0.0)
        if unit is BudgetUnit.DOLLARS:
            state["spent"] = state["modelled_cost"]
        if seed_eval["valid"]:
            state.update(score=seed_eval["score"], hash=seed_eval["program_hash"])
    if -1 in best_by_sample and (state["score"] is None or best_by_sample[-1][0] > state["score"]):
        state.update(score=best_by_sample[-1][0], hash=best_by_sample[-1][1])
    states = [dict(state)]
    for s in samples:
        e = evals.get(s["id"]) or {}
        tokens = (s["prompt_tokens"] or 0) + (s["completion_tokens"] or 0)
        modelled = (s["modelled_cost"] or 0.0) + (e.get("modelled_cost") or 0.0)
        step = {BudgetUnit.DOLLARS: modelled, BudgetUnit.TOKENS: tokens, BudgetUnit.SAMPLES: 1,
                BudgetUnit.GPU_SECONDS: (s["modelled_cost"] or 0.0) * 3600 / price_per_hour if price_per_hour
                else 0.0}[unit]
        state["spent"] += step
        state["samples"] += 1
        state["tokens"] += tokens
        state["measured_cost"] += (s["measured_cost"] or 0.0) + (e.get("measured_cost") or 0.0)
        state["modelled_cost"] += modelled
        state["valid"] += int(s["failure"] is None and s["program_hash"] is not None and bool(e.get("valid", 1)))
        found = best_by_sample.get(s["id"])
        if found and (state["score"] is None or found[0] > state["score"]):
            state.update(score=found[0], hash=found[1])
        states.append(dict(state))
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
    """results.csv rows of a finished cell."""
    from funsearch.cost.hardware import load_hardware
    from funsearch.store.run_store import RunStore

    store = RunStore(run_dir)
    try:
        samples = store.query("SELECT id, prompt_tokens, completion_tokens, failure, program_hash, measured_cost, "
                              "modelled_cost FROM samples ORDER BY id")
        evaluations = store.query("SELECT sample_id, program_hash, valid, score, metrics, measured_cost, "
                                  "modelled_cost FROM evaluations ORDER BY sample_id")
        programs = store.query("SELECT sample_id, hash, score FROM programs ORDER BY id")
        stop_reason = store.meta("stop_reason")
    finally:
        store.close()
    price = load_hardware().get(exp.price_as).price_per_hour if exp.price_as else None
    amounts = exp.budget_amounts[: cell.budget_index + 1]
    metrics_by_hash = {e["program_hash"]: e["metrics"] for e in evaluations if e["valid"]}
    seed_eval = next((e for e in evaluations if e["sample_id"] == -1), None)
    rows = []
    for text, state in zip(exp.budgets, budget_checkpoints(samples, evaluations, programs, amounts,
                                                           exp.budget_unit, price, stop_reason)):
        name, value = metric_of(metrics_by_hash.get(state["hash"]))
        rows.append({
            "problem": Path(cell.problem).stem, "size": cell.size, "mode": cell.mode, "seed": cell.seed,
            "budget": text, "budget_amount": state["budget_amount"], "unit": exp.budget_unit.value,
            "score": state["score"], "metric_name": name, "metric": value,
            "baseline_score": seed_eval["score"] if seed_eval else None, "samples": state["samples"],
            "valid": state["valid"], "valid_rate": state["valid"] / state["samples"] if state["samples"] else 0.0,
            "tokens": state["tokens"], "measured_cost": state["measured_cost"],
            "modelled_cost": state["modelled_cost"], "spent": state["spent"], "reached": state["reached"],
            "run_budget": exp.budgets[cell.budget_index], "stop_reason": stop_reason, "cell": cell.key})
    return rows
