"""A run page's data, aggregated on the server from one snapshot of the store: best score vs samples and vs cost
per size (only the points where the best improves), the yield funnel and failure classes per size, the islands,
the lineage (view/lineage.py) and the best program. Its size does not grow with the number of samples past the
lineage's cap, so a run of 10^5 samples loads in seconds.
"""
from __future__ import annotations

from pathlib import Path

from funsearch.store import view_queries as q
from funsearch.view.lineage import lineage

CONFIG_FIELDS = ("problem", "model_sizes", "backend", "mode", "seed", "islands", "samples", "budget", "hardware",
                 "price_as", "split", "samples_per_prompt", "temperature", "reset_period")
RESETS_DEFAULT_PER_ISLAND = 250  # search/database.py: DatabaseConfig.samples_between_resets without reset_period


def run_payload(run_dir: Path, cap: int | None = None) -> dict:
    """Everything a run page draws but the per-sample details (view/details.py)."""
    with q.snapshot(run_dir) as store:
        basics = q.run_basics(store)
        funnel, failures = q.funnel_and_failures(store)
        progress = q.progress_rows(store)
        nodes = q.program_nodes(store)
        islands = q.island_state(store)
        seed = q.seed_program(store)
    meta = basics["meta"]
    config = meta.get("config") or {}
    baseline = basics["baseline"] or {}
    seed_score = baseline.get("score", seed["score"] if seed else None)
    sizes = _sizes(config, funnel, nodes)
    best = basics["best"]
    ledger = meta.get("ledger") or {}
    return {
        "kind": "run",
        "name": Path(run_dir).name,
        "config": {k: config.get(k) for k in CONFIG_FIELDS if k in config},
        "stop_reason": meta.get("stop_reason"),
        "counts": basics["counts"],
        "sizes": sizes,
        "baseline": {"score": seed_score, "metrics": baseline.get("metrics") or {}},
        "best": None if best is None else {k: best[k] for k in ("id", "sample_id", "island", "score", "hash",
                                                                "source", "metrics")},
        "heldout": meta.get("heldout"),
        "ledger": {"totals": ledger.get("totals"), "measured_hw": ledger.get("measured_hw"),
                   "modelled_hw": ledger.get("modelled_hw"), "budget": ledger.get("budget")},
        "curves": best_curves(progress, seed_score, sizes),
        "funnel": funnel,
        "failures": [{"model": r["model"], "failure": r["failure"] or "valid", "n": r["n"]} for r in failures],
        "islands": island_view(nodes, islands, seed_score, config),
        "lineage": lineage(nodes, sizes, seed_score, **({"cap": cap} if cap else {})),
        "sample_columns": basics["sample_columns"],
    }


def _sizes(config: dict, funnel: list[dict], nodes: list[dict]) -> list[str]:
    """The run's sizes: the configured ones first, then any other model a sample names."""
    sizes = [str(s) for s in (config.get("model_sizes") or [])]
    for name in [r["model"] for r in funnel] + [n["model"] for n in nodes]:
        if name is not None and str(name) not in sizes:
            sizes.append(str(name))
    return sizes


def best_curves(progress: list[tuple], seed_score: float | None, sizes: list[str]) -> list[dict]:
    """Per size (and "all sizes" with more than one): the best score so far against that size's samples, measured
    and modelled cost (sample plus evaluation). Points: [samples, measured $, modelled $, best, sample id] at the
    start (the seed's score), at each improvement and at the last sample."""
    groups = {s: _Curve(seed_score) for s in sizes}
    total = _Curve(seed_score) if len(sizes) > 1 else None
    for sample_id, model, measured, modelled, score in progress:
        curve = groups.setdefault(str(model), _Curve(seed_score))
        curve.add(sample_id, measured, modelled, score)
        if total is not None:
            total.add(sample_id, measured, modelled, score)
    out = [{"size": s, "points": c.finish()} for s, c in groups.items()]
    if total is not None:
        out.append({"size": "all sizes", "points": total.finish()})
    return out


class _Curve:
    def __init__(self, start: float | None):
        self.n, self.measured, self.modelled, self.best, self.last = 0, 0.0, 0.0, start, -1
        self.points = [[0, 0.0, 0.0, start, -1]]

    def add(self, sample_id: int, measured: float, modelled: float, score: float | None) -> None:
        self.n += 1
        self.measured += measured or 0.0
        self.modelled += modelled or 0.0
        self.last = sample_id
        if score is not None and (self.best is None or score > self.best):
            self.best = score
            self.points.append(self._point())

    def _point(self) -> list:
        return [self.n, self.measured, self.modelled, self.best, self.last]

    def finish(self) -> list[list]:
        if self.points[-1][0] != self.n:
            self.points.append(self._point())
        return self.points


def island_view(nodes: list[dict], state: dict | None, seed_score: float | None, config: dict) -> dict:
    """Per island: programs registered there, the best ever (id, score), the current best as of the latest
    checkpoint (after resets: the founder it was reseeded with) and its registered samples; the resets so far,
    the reset period; and each island's best score over sample ids (improvements only)."""
    count = int(config.get("islands") or 0) or 1 + max([n["island"] or 0 for n in nodes] or [0])
    scores = {n["id"]: n["score"] for n in nodes}
    scores[0] = seed_score
    islands = [{"island": i, "programs": 0, "best_id": 0, "best": seed_score, "now_id": None, "now": None,
                "samples": None, "trace": [[-1, seed_score]]} for i in range(count)]
    for n in nodes:
        i = n["island"]
        if i is None or not 0 <= i < count:
            continue
        isl = islands[i]
        isl["programs"] += 1
        if isl["best"] is None or n["score"] > isl["best"]:
            isl["best"], isl["best_id"] = n["score"], n["id"]
            isl["trace"].append([n["sample_id"], n["score"]])
    period = config.get("reset_period") or RESETS_DEFAULT_PER_ISLAND * count
    resets = registered = None
    if state:
        counters = state.get("counters") or []
        registered = counters[0] if counters else None
        resets = counters[2] if len(counters) > 2 else None
        period = state.get("reset_period") or period
        for isl, saved in zip(islands, state.get("islands") or []):
            isl["samples"] = saved.get("samples")
            isl["now_id"] = saved.get("best")
            isl["now"] = scores.get(saved.get("best"))
    return {"islands": islands, "resets": resets, "reset_period": period, "registered": registered,
            "checkpoint_sample": state.get("last_sample_id") if state else None}
