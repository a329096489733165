"""SWEEP_DIR/results.csv: one row per (finished run, budget checkpoint); written atomically, read back typed."""
from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = ("problem", "size", "mode", "seed", "budget", "budget_amount", "unit", "score", "metric_name", "metric",
           "baseline_score", "samples", "valid", "valid_rate", "tokens", "measured_cost", "modelled_cost",
           "spent", "reached", "run_budget", "stop_reason", "cell")


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
    ints = {"seed", "samples", "valid", "tokens"}
    floats = {"budget_amount", "score", "metric", "baseline_score", "valid_rate", "measured_cost", "modelled_cost",
              "spent"}
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
