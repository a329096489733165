"""What a run's store says about it: the summary `funsearch show` prints and the yield funnel per model.

Everything is computed from the rows, so it works on a crashed run too.
"""
from __future__ import annotations

from pathlib import Path

from funsearch.store.run_store import RunStore

RUN_FAILURES = ("runtime_error", "timeout", "memory_error", "crash", "sandbox_error")

FUNNEL_SQL = f"""
    SELECT s.model AS model, COUNT(*) AS samples,
           COALESCE(SUM(s.failure IS NULL OR s.failure NOT IN ('no_code', 'proposer_error')), 0) AS extracted,
           COALESCE(SUM(s.source IS NOT NULL), 0) AS compiles,
           COALESCE(SUM(s.source IS NOT NULL AND e.valid IS NOT NULL AND
               (e.failure IS NULL OR e.failure NOT IN ({','.join(repr(f) for f in RUN_FAILURES)}))), 0) AS runs,
           COALESCE(SUM(COALESCE(e.valid, 0) = 1 AND s.failure IS NULL), 0) AS valid,
           COALESCE(SUM(s.failure = 'duplicate'), 0) AS duplicates,
           COALESCE(SUM(s.failure = 'duplicate' AND s.message = 'copy of a parent'), 0) AS copies,
           COALESCE(SUM(s.failure = 'noop'), 0) AS noops,
           COALESCE(SUM(s.failure = 'cascade_stop'), 0) AS cascade_stops,
           COALESCE(SUM(COALESCE(p.new_best, 0)), 0) AS new_best,
           COALESCE(SUM(s.prompt_tokens), 0) AS prompt_tokens,
           COALESCE(SUM(s.completion_tokens), 0) AS completion_tokens,
           COALESCE(SUM(s.seconds), 0) AS seconds, COALESCE(SUM(s.measured_cost), 0) AS measured_cost,
           COALESCE(SUM(s.modelled_cost), 0) AS modelled_cost
    FROM samples s
    LEFT JOIN (SELECT program_hash, MAX(valid) AS valid, MIN(failure) AS failure
               FROM evaluations GROUP BY program_hash) e ON e.program_hash = s.program_hash
    LEFT JOIN programs p ON p.sample_id = s.id
    GROUP BY s.model ORDER BY s.model"""

STRATEGY_SQL = """
    SELECT COALESCE(substr(s.strategy, 1, instr(s.strategy || ':', ':') - 1), 'classic') AS strategy,
           COUNT(*) AS samples, COALESCE(SUM(s.failure IS NULL AND s.source IS NOT NULL), 0) AS valid,
           COALESCE(SUM(s.failure = 'duplicate'), 0) AS duplicates, COALESCE(SUM(s.failure = 'noop'), 0) AS noops,
           COALESCE(SUM(COALESCE(p.new_best, 0)), 0) AS new_best
    FROM samples s LEFT JOIN programs p ON p.sample_id = s.id
    GROUP BY 1 ORDER BY 1"""


def yield_funnel(store: RunStore) -> list[dict]:
    """Per model: samples > extracted > compiles > runs > valid > new best, duplicates, tokens, seconds, costs,
    and tokens and seconds per valid program (None without a valid one)."""
    funnel = store.query(FUNNEL_SQL)
    for row in funnel:
        valid = row["valid"] or 0
        row["tokens_per_valid"] = (row["completion_tokens"] or 0) / valid if valid else None
        row["seconds_per_valid"] = (row["seconds"] or 0.0) / valid if valid else None
    return funnel


SEED_SQL = ("SELECT json_extract(database, '$.records[0].source') AS source, "
            "json_extract(database, '$.records[0].score') AS score FROM checkpoints ORDER BY id DESC LIMIT 1")
BEST_SQL = ("SELECT p.id, p.sample_id, p.island, p.hash, p.source, p.score, p.new_best, "
            "(SELECT e.metrics FROM evaluations e WHERE e.program_hash = p.hash ORDER BY e.sample_id LIMIT 1) "
            "AS metrics FROM programs p ORDER BY p.score DESC, p.id LIMIT 1")


def seed_program(store: RunStore) -> dict | None:
    """The seed program (database id 0) as the latest checkpoint holds it: source and score."""
    rows = store.query(SEED_SQL)
    return rows[0] if rows and rows[0]["source"] is not None else None


def best_program(store: RunStore) -> dict | None:
    """The run's best program: the best registered one, or the seed (id 0, sample -1) when nothing beat it.

    Keys: id, sample_id, island, hash, source, score, new_best, metrics (the train split's)."""
    rows = store.query(BEST_SQL)
    seed = store.query("SELECT program_hash, score, metrics FROM evaluations WHERE sample_id = -1")
    if seed and seed[0]["score"] is not None and (not rows or seed[0]["score"] >= rows[0]["score"]):
        source = seed_program(store)
        return {"id": 0, "sample_id": -1, "island": None, "hash": seed[0]["program_hash"],
                "source": source["source"] if source else None, "score": seed[0]["score"], "new_best": 0,
                "metrics": seed[0]["metrics"]}
    return rows[0] if rows else None


def summarise(run_dir: Path) -> dict:
    """Everything `funsearch show` prints: baseline, best program and its trajectory, outcome counts, the yield
    funnel per model, evaluation totals and the run's saved meta (config, ledger, pool, utilisation...)."""
    store = RunStore(run_dir)
    try:
        best = best_program(store)
        baseline = store.query("SELECT score, metrics FROM evaluations WHERE sample_id = -1")
        trajectory = store.query("SELECT sample_id, score FROM programs WHERE new_best = 1 ORDER BY sample_id")
        failures = {r["failure"] or "valid": r["n"] for r in store.query(
            "SELECT failure, COUNT(*) AS n FROM samples GROUP BY failure ORDER BY n DESC")}
        evals = store.query("SELECT COUNT(*) AS n, SUM(seconds) AS seconds, SUM(cpu_seconds) AS cpu_seconds, "
                            "SUM(measured_cost) AS cost FROM evaluations")[0]
        return {
            "run_dir": str(run_dir),
            "config": store.meta("config"),
            "stop_reason": store.meta("stop_reason"),
            "samples": store.count("samples"),
            "baseline": baseline[0] if baseline else None,
            "best": best,
            "best_trajectory": trajectory,
            "failures": failures,
            "per_model": yield_funnel(store),
            "evaluations": evals,
            "ledger": store.meta("ledger"),
            "pool": store.meta("pool"),
            "utilisation": store.meta("utilisation"),
            "protections": store.meta("protections"),
            "strategies": store.query(STRATEGY_SQL) if "strategy" in store.columns("samples") else [],
            "staleness": staleness(store),
            "heldout": store.meta("heldout"),
            "simulated": store.meta("simulated"),
        }
    finally:
        store.close()


def staleness(store: RunStore) -> dict | None:
    """Distribution of the samples' staleness (programs registered on their island while they were out)."""
    if "staleness" not in store.columns("samples"):
        return None
    values = [r["staleness"] for r in store.query(
        "SELECT staleness FROM samples WHERE staleness IS NOT NULL ORDER BY staleness")]
    if not values:
        return None
    def at(q: float) -> int:
        return values[min(len(values) - 1, int(q * len(values)))]
    return {"n": len(values), "mean": sum(values) / len(values), "p50": at(0.5), "p90": at(0.9),
            "max": values[-1], "zero_fraction": sum(v == 0 for v in values) / len(values)}


def run_funnel(run_dir: Path) -> list[dict]:
    """The yield funnel per model of one run (see `yield_funnel`)."""
    store = RunStore(run_dir)
    try:
        return yield_funnel(store)
    finally:
        store.close()
