"""What a sweep keeps of one finished run once its store is gone: the facts study/compact.py condenses.

`cell_facts(run_dir)` opens the store read-only and returns plain JSON-able values (no SQL leaves this package):
the ledger rows budget curves walk (history.ledger_rows), the yield funnel summed over models, failure counts,
the cost split between samples and evaluations, the staleness histogram, the seed program's evaluation, the
best program (source included) and the held-out evaluation the run recorded in its meta.
"""
from __future__ import annotations

from pathlib import Path

from funsearch.store.history import ledger_rows_of
from funsearch.store.run_store import RunStore
from funsearch.store.summary import FUNNEL_SQL, best_program

FUNNEL_KEYS = ("samples", "extracted", "compiles", "runs", "valid", "new_best", "duplicates", "copies", "noops",
               "cascade_stops", "prompt_tokens", "completion_tokens", "seconds", "measured_cost", "modelled_cost")
COST_SQL = ("SELECT (SELECT COALESCE(SUM(modelled_cost), 0) FROM samples) AS samples_modelled, "
            "(SELECT COALESCE(SUM(modelled_cost), 0) FROM evaluations) AS evaluations_modelled, "
            "(SELECT COALESCE(SUM(measured_cost), 0) FROM samples) AS samples_measured, "
            "(SELECT COALESCE(SUM(measured_cost), 0) FROM evaluations) AS evaluations_measured, "
            "(SELECT COUNT(*) FROM evaluations) AS evaluations, "
            "(SELECT COALESCE(SUM(cpu_seconds), 0) FROM evaluations) AS evaluation_cpu_seconds")
STRATEGY_SQL = ("SELECT COALESCE(substr(strategy, 1, instr(strategy || ':', ':') - 1), 'classic') AS strategy, "
                "COUNT(*) AS n FROM samples GROUP BY 1 ORDER BY 1")


def behaviour_new(store: RunStore) -> int:
    """Valid programs whose outputs (per-instance fingerprints over the whole split) differ from the seed's and
    from every earlier valid program's: what a no-op check over the full split would let through, the same count
    whether the run had the cascade or not (stores before fingerprints count every valid program)."""
    seen: set[tuple] = set()
    count = 0
    for row in store.query("SELECT sample_id, valid, per_instance FROM evaluations ORDER BY sample_id"):
        if not row["valid"]:
            continue
        prints = tuple(o.get("fingerprint", "") for o in row["per_instance"] or [])
        fresh = prints not in seen or not any(prints)
        seen.add(prints)
        count += fresh and row["sample_id"] >= 0
    return count


def problem_sha256(store: RunStore) -> str | None:
    """The sha256 of the problem file's text the run started on (None for runs from before it was recorded)."""
    return (store.meta("problem") or {}).get("sha256")


def recorded_problem_sha256(run_dir: Path) -> str | None:
    """problem_sha256 of the store in run_dir (None when there is none, or it is unreadable or from before)."""
    from funsearch.store.run_store import StoreError

    if not (Path(run_dir) / "run.sqlite").is_file():
        return None
    try:
        store = RunStore(run_dir, read_only=True)
    except StoreError:
        return None
    try:
        return problem_sha256(store)
    finally:
        store.close()


def cell_facts(run_dir: Path) -> dict:
    """Everything study/compact.py keeps of a run (see the module docstring); the store is opened read-only."""
    store = RunStore(run_dir, read_only=True)
    try:
        columns = store.columns("samples")
        ledger = ledger_rows_of(store)
        funnel = dict.fromkeys(FUNNEL_KEYS, 0)
        for row in store.query(FUNNEL_SQL):
            for key in FUNNEL_KEYS:
                funnel[key] += row.get(key) or 0
        failures = {r["failure"] or "valid": r["n"] for r in store.query(
            "SELECT failure, COUNT(*) AS n FROM samples GROUP BY failure ORDER BY failure")}
        staleness = {}
        if "staleness" in columns:
            staleness = {int(r["staleness"]): r["n"] for r in store.query(
                "SELECT staleness, COUNT(*) AS n FROM samples WHERE staleness IS NOT NULL GROUP BY staleness "
                "ORDER BY staleness")}
        seed = store.query("SELECT program_hash, score, metrics FROM evaluations WHERE sample_id = -1")
        best = best_program(store)
        funnel["behaviour_new"] = behaviour_new(store)
        strategies = ({r["strategy"]: r["n"] for r in store.query(STRATEGY_SQL)} if "strategy" in columns else {})
        return {"ledger": ledger, "funnel": funnel, "failures": failures, "cost": store.query(COST_SQL)[0],
                "staleness": staleness, "seed": seed[0] if seed else None,
                "best": None if best is None else {k: best[k] for k in ("sample_id", "island", "hash", "score",
                                                                        "source", "metrics")},
                "heldout": store.meta("heldout"), "strategies": strategies,
                "problem_sha256": problem_sha256(store), "models": sorted(
                    r["model"] for r in store.query("SELECT DISTINCT model FROM samples WHERE model IS NOT NULL"))}
    finally:
        store.close()
