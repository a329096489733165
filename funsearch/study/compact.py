"""A finished cell in one small JSON file (SWEEP_DIR/compact/<key>.json): what results.csv and the report need, so
that the run stores (every prompt and completion, not committed) can be left behind.

Format (FORMAT = 1; dict keys in a fixed order, numbers as JSON reads them back, so results.csv rebuilt from it is
byte-identical to results.csv read from the store):
  format, key, cell (the Cell's fields), experiment (the experiment's defining fields: a file copied into another
  experiment's folder is refused), stop_reason, models (sizes that sampled),
  rows:          the cell's results.csv rows, one per budget checkpoint (budget_curves.rows_of)
  decomposition: per checkpoint: budget, samples_per_dollar, p_valid_new, p_improve, mean_gain (`decompose`)
  funnel:        samples, extracted, compiles, runs, valid, new_best, duplicates, copies (of a parent), noops,
                 cascade_stops, prompt_tokens, completion_tokens, seconds, measured_cost, modelled_cost
  failures:      {failure class or "valid": samples}
  cost:          samples_modelled, evaluations_modelled, evaluation_share (of the modelled dollars),
                 samples_measured, evaluations_measured, evaluations, evaluation_cpu_seconds
  staleness:     {"histogram": {staleness: samples}, n, mean, p50, p90, max, zero_fraction} or null
  seed:          the seed program's evaluation on the training split: hash, score, metrics
  best:          the run's best program: hash, score, metrics, sample_id, island, source (the seed when nothing beat it:
                 "seed": true, source null)
  heldout:       the run store's meta "heldout" as recorded: program_hash, train_split, train (metrics), splits
                 ({split: valid, score, metrics, failure, message, seconds}); null when the run recorded none
  strategies:    {prompt strategy: samples}
  problem_sha256: sha256 of the problem file's text the run started on (absent or null in cells from before it
                 was recorded): a sweep refuses to go on when the file has changed since (folder.py)
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from funsearch.study.cells import Cell

FORMAT = 1
FOLDER = "compact"


class CompactError(Exception):
    """A compact file is unreadable or of another format. One line."""


def decompose(row: dict) -> dict:
    """The decomposition of one results row (a run up to a checkpoint): samples per modelled dollar x P(valid and
    new) x P(improves its island's best | valid and new) x mean gain = score gained on islands per dollar."""
    samples, valid, better = row["samples"] or 0, row["valid"] or 0, row.get("improvements") or 0
    cost = row["modelled_cost"] or 0.0
    return {"budget": row["budget"], "samples_per_dollar": samples / cost if cost > 0 else None,
            "p_valid_new": valid / samples if samples else None, "p_improve": better / valid if valid else None,
            "mean_gain": (row.get("gain") or 0.0) / better if better else None}


def _staleness(histogram: dict[int, int]) -> dict | None:
    values = sorted(histogram)
    n = sum(histogram.values())
    if not n:
        return None

    def at(q: float) -> int:
        rank, seen = min(n - 1, int(q * n)), 0
        for v in values:
            seen += histogram[v]
            if seen > rank:
                return v
        return values[-1]
    return {"histogram": {str(v): histogram[v] for v in values}, "n": n,
            "mean": sum(v * c for v, c in histogram.items()) / n, "p50": at(0.5), "p90": at(0.9), "max": values[-1],
            "zero_fraction": histogram.get(0, 0) / n}


def _best(facts: dict) -> dict | None:
    seed, best = facts["seed"], facts["best"]
    if best is not None and (seed is None or seed["score"] is None or best["score"] > seed["score"]):
        return {"hash": best["hash"], "score": best["score"], "metrics": best["metrics"] or {},
                "sample_id": best["sample_id"], "island": best["island"], "source": best["source"], "seed": False}
    if seed is None:
        return None
    source = best["source"] if best is not None and best["sample_id"] == -1 else None
    return {"hash": seed["program_hash"], "score": seed["score"], "metrics": seed["metrics"] or {},
            "sample_id": -1, "island": None, "source": source, "seed": True}


def build(exp, cell: Cell, run_dir: Path) -> dict:
    """The compact summary of a finished cell, from its run store (opened read-only)."""
    from funsearch.store.cell_facts import cell_facts
    from funsearch.study.budget_curves import rows_of
    from funsearch.study.experiment import defining

    facts = cell_facts(run_dir)
    rows = rows_of(exp, cell, facts["ledger"])
    cost = dict(facts["cost"])
    total = cost["samples_modelled"] + cost["evaluations_modelled"]
    cost["evaluation_share"] = cost["evaluations_modelled"] / total if total > 0 else None
    seed = facts["seed"]
    return {
        "format": FORMAT, "key": cell.key, "cell": asdict(cell),
        "experiment": defining(json.loads(exp.model_dump_json())), "stop_reason": facts["ledger"].stop_reason,
        "models": facts["models"], "rows": rows, "decomposition": [decompose(r) for r in rows],
        "funnel": facts["funnel"], "failures": facts["failures"], "cost": cost,
        "staleness": _staleness(facts["staleness"]),
        "seed": None if seed is None else {"hash": seed["program_hash"], "score": seed["score"],
                                           "metrics": seed["metrics"] or {}},
        "best": _best(facts), "heldout": facts["heldout"], "strategies": facts["strategies"],
        "problem_sha256": facts["problem_sha256"]}


def path_of(sweep_dir: Path, key: str) -> Path:
    return Path(sweep_dir) / FOLDER / f"{key}.json"


def write(path: Path, data: dict) -> None:
    """Write atomically (a sweep killed mid-write leaves the old file or none, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def read(path: Path) -> dict:
    """A compact file; CompactError (one line) when it is not one of this format."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise CompactError(f"{path}: unreadable compact cell: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("rows"), list):
        raise CompactError(f"{path}: not a compact cell of format {FORMAT} (format {data.get('format')!r})"
                           if isinstance(data, dict) else f"{path}: not a compact cell")
    return data


def cell_of(data: dict) -> Cell:
    """The Cell a compact file describes."""
    c = data["cell"]
    return Cell(str(c["problem"]), str(c["size"]), str(c["mode"]), int(c["seed"]), int(c["budget_index"]),
                int(c["last_index"]), str(c.get("variant", "")))
