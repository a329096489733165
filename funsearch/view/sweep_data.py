"""A sweep page's data: the report's curves (mean and 95 % bootstrap interval over seeds per mode and size, from
study/analysis.py), every seed's point with its cell (the page links it to that run's page), the best size at
each budget (analysis.best_sizes), the decomposition per size from the cells' stores, and the cells so far.

Decomposition, per (problem, mode, size), summed over its finished runs: samples per modelled dollar,
P(valid and new), P(improves its island's best | valid and new), the mean gain when it does; copy and failure
rates; evaluation's share of the modelled cost. Island bests are followed from the seed's score in registration
order (resets, which reseed weak islands, are not replayed).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict

from funsearch.store.view_queries import decomposition_counts
from funsearch.study import analysis
from funsearch.study.plots import label
from funsearch.study.results import read_results
from funsearch.view.target import Target

SEED_FIELDS = ("mode", "size", "seed", "budget", "budget_amount", "score", "metric", "samples", "cell")


def sweep_payload(target: Target) -> dict:
    root = target.root
    meta_path = root / "experiment.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    rows = read_results(root / "results.csv") if (root / "results.csv").is_file() else []
    finished = {r["cell"] for r in rows}
    cells = [{"cell": c, "finished": c in finished} for c in target.cells()]
    return {
        "kind": "sweep", "name": meta.get("name") or root.name,
        "experiment": {k: meta.get(k) for k in ("problems", "sizes", "budgets", "seeds", "baselines", "backend",
                                                "price_as", "hardware")},
        "unit": rows[0]["unit"] if rows else None,
        "problems": [_problem(target, p, [r for r in rows if r["problem"] == p])
                     for p in sorted({r["problem"] for r in rows})],
        "cells": cells,
    }


def _problem(target: Target, problem: str, rows: list[dict]) -> dict:
    metric = next((r["metric_name"] for r in rows if r["metric_name"]), None)
    metric_rows = [dict(r, value=r["metric"]) for r in rows if r.get("metric") is not None]
    return {
        "problem": problem, "metric_name": metric,
        "log_x": max(r["budget_amount"] for r in rows) / max(min(r["budget_amount"] for r in rows), 1e-300) > 3,
        "score": [_point(p) for p in analysis.curves(rows)],
        "metric": [_point(p) for p in analysis.curves(metric_rows, value="value")],
        "seeds": [dict({k: r.get(k) for k in SEED_FIELDS}, label=label(r["mode"], r["size"])) for r in rows],
        "answers": [asdict(a) for a in analysis.best_sizes(rows)],
        "decomposition": decomposition(target, rows),
    }


def _point(p: analysis.CurvePoint) -> dict:
    return dict(asdict(p), label=label(p.mode, p.size))


def decomposition(target: Target, rows: list[dict]) -> list[dict]:
    """Per (mode, size): the decomposition (module docstring) over the runs in `rows`."""
    groups: dict = defaultdict(set)
    for r in rows:
        groups[(r["mode"], r["size"])].add(r["cell"])
    out = []
    for (mode, size), cells in sorted(groups.items()):
        t = defaultdict(float)
        for cell in sorted(cells):
            if cell not in target.cells():
                continue
            _add_run(t, decomposition_counts(target.run_dir(cell)))
        cost = t["sample_cost"] + t["eval_cost"]
        out.append({
            "mode": mode, "size": size, "label": label(mode, size), "runs": int(t["runs"]),
            "samples": int(t["samples"]), "modelled_cost": cost,
            "samples_per_dollar": t["samples"] / cost if cost > 0 else None,
            "p_valid_new": _ratio(t["valid_new"], t["samples"]),
            "p_improve": _ratio(t["improves"], t["valid_new"]),
            "mean_gain": _ratio(t["gain"], t["improves"]),
            "copy_rate": _ratio(t["duplicates"], t["samples"]),
            "failure_rate": _ratio(t["failed"], t["samples"]),
            "eval_share": _ratio(t["eval_cost"], cost),
        })
    return out


def _add_run(t: defaultdict, counts: dict) -> None:
    t["runs"] += 1
    for m in counts["per_model"]:
        for k in ("samples", "duplicates", "failed", "sample_cost", "eval_cost"):
            t[k] += m[k] or 0
    start = (counts["baseline"] or {}).get("score")
    best: dict = {}
    for _model, island, score in counts["programs"]:
        t["valid_new"] += 1
        before = best.get(island, start)
        if score is not None and (before is None or score > before):
            t["improves"] += 1
            t["gain"] += 0.0 if before is None else score - before
            best[island] = score


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None
