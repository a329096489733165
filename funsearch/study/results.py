"""SWEEP_DIR/results.csv: one row per (finished run, budget checkpoint); written atomically, read back typed.

Columns: the cell (problem, size: the arm, "size/variant" in an ablation; mode, seed, cell: its key), the
checkpoint (budget, budget_amount, unit, spent, reached, run_budget, stop_reason), the best program there
(score, metric_name, metric: the problem's headline metric; baseline_score: the seed program's), and the run's
tallies up to it: samples, valid (new valid programs), valid_rate, tokens, measured_cost and modelled_cost
(dollars, evaluations included), eval_cost (the modelled dollars of evaluations), improvements and gain
(programs that beat their island's best, and the score they added: budget_curves._Islands).
"""
from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = ("problem", "size", "mode", "seed", "budget", "budget_amount", "unit", "score", "metric_name", "metric",
           "baseline_score", "samples", "valid", "valid_rate", "tokens", "measured_cost", "modelled_cost",
           "eval_cost", "improvements", "gain", "spent", "reached", "run_budget", "stop_reason", "cell")


def write_results(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    tmp.replace(path)


def read_results(path: Path) -> list[dict]:
    """results.csv back into typed rows (numbers as float/int, empty as None, reached as bool)."""
    ints = {"seed", "samples", "valid", "tokens", "improvements"}
    floats = {"budget_amount", "score", "metric", "baseline_score", "valid_rate", "measured_cost", "modelled_cost",
              "eval_cost", "gain", "spent"}
    rows = []
    with open(path, newline="") as f:
        for raw in csv.DictReader(f):
            row: dict = dict(raw)
            for k in ints | floats:
                v = raw.get(k, "")
                row[k] = None if v in ("", None) else (int(float(v)) if k in ints else float(v))
            row["reached"] = raw.get("reached") == "True"
            rows.append(row)
    return rows
