"""The reads behind `funsearch view`: each opens the store read-only and reads inside one transaction, so a
run that is being written is seen as of one commit (never a half-written record, never a program without its
sample).

Columns are read defensively: samples may carry columns added after this module was written (a prompt
strategy, a staleness count...); the detail reads return every column there is, and the aggregate reads use only
the columns every store has. Failure classes are plain strings, never checked against a list.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from funsearch.store.run_store import RunStore, StoreError
from funsearch.store.summary import best_program, seed_program, yield_funnel

META_KEYS = ("config", "stop_reason", "ledger", "heldout", "pool", "utilisation", "replay_of")

PROGRESS_SQL = ("SELECT s.id, s.model, COALESCE(s.measured_cost, 0) + COALESCE(e.measured_cost, 0) AS measured, "
                "COALESCE(s.modelled_cost, 0) + COALESCE(e.modelled_cost, 0) AS modelled, p.score "
                "FROM samples s LEFT JOIN evaluations e ON e.sample_id = s.id "
                "LEFT JOIN programs p ON p.sample_id = s.id ORDER BY s.id")
NODES_SQL = ("SELECT p.id, p.sample_id, p.island, p.score, p.new_best, s.model, s.parent_ids "
             "FROM programs p LEFT JOIN samples s ON s.id = p.sample_id ORDER BY p.id")
ISLANDS_SQL = ("SELECT json_extract(c.database, '$.counters') AS counters, "
               "json_extract(c.database, '$.config.reset_period') AS reset_period, "
               "json_extract(c.database, '$.best') AS best, c.last_sample_id, "
               "(SELECT json_group_array(json_object('samples', json_extract(i.value, '$.samples'), "
               "'best', json_extract(i.value, '$.best'))) FROM json_each(c.database, '$.islands') i) AS islands "
               "FROM checkpoints c ORDER BY c.id DESC LIMIT 1")
PAGE_COLUMNS = ("id", "model", "island", "failure", "message", "program_hash", "completion_tokens")


@contextmanager
def snapshot(run_dir: str | Path) -> Iterator[RunStore]:
    """The run's store, read-only, inside one read transaction (every read sees the same commit)."""
    store = RunStore(run_dir, read_only=True)
    try:
        store._db.execute("BEGIN")
        yield store
    except sqlite3.DatabaseError as exc:  # a store whose tables are not written yet, a damaged file
        raise StoreError(f"cannot read {Path(run_dir) / RunStore.FILE}: {exc}") from None
    finally:
        store.close()


def run_basics(store: RunStore) -> dict:
    """The saved meta (config, stop reason, ledger, held-out metrics when recorded...), row counts, the baseline
    evaluation, the best program with its metrics, and the samples table's columns."""
    baseline = store.query("SELECT score, metrics, per_instance FROM evaluations WHERE sample_id = -1")
    best = best_program(store)
    return {
        "meta": {key: store.meta(key) for key in META_KEYS},
        "counts": {t: store.count(t) for t in ("samples", "evaluations", "programs")},
        "baseline": baseline[0] if baseline else None,
        "best": best,
        "sample_columns": sorted(store.columns("samples")),
    }


def funnel_and_failures(store: RunStore) -> tuple[list[dict], list[dict]]:
    """The yield funnel per model (store/summary.py) and the count of every failure class per model (NULL:
    valid)."""
    failures = store.query("SELECT model, failure, COUNT(*) AS n FROM samples GROUP BY model, failure "
                           "ORDER BY model, n DESC")
    return yield_funnel(store), failures


def progress_rows(store: RunStore) -> list[tuple]:
    """(sample id, model, measured cost, modelled cost, registered score or None) of every sample in id order;
    costs are the sample's plus its evaluation's."""
    cur = store._db.execute(PROGRESS_SQL)
    return cur.fetchall()


def program_nodes(store: RunStore) -> list[dict]:
    """Every registered program: id, sample_id, island, score, new_best, the model that wrote it and the
    database ids of its parents (0 is the seed program)."""
    return store.query(NODES_SQL)


def island_state(store: RunStore) -> dict | None:
    """From the latest checkpoint: the database's counters (registered samples, duplicates, resets, prompts),
    reset period, best program id and per island its registered samples and current best id; None before the
    first checkpoint."""
    rows = store.query(ISLANDS_SQL)
    if not rows or rows[0]["counters"] is None:
        return None
    row = rows[0]
    return {"counters": json.loads(row["counters"]), "reset_period": row["reset_period"], "best": row["best"],
            "last_sample_id": row["last_sample_id"], "islands": json.loads(row["islands"] or "[]")}


def program_sources(store: RunStore, ids: list[int]) -> dict[int, dict]:
    """id -> {id, sample_id, score, source} of registered programs (the seed, id 0, from the checkpoint)."""
    out = {}
    wanted = [int(i) for i in ids if int(i) != 0]
    if wanted:
        marks = ", ".join("?" for _ in wanted)
        for row in store.query(f"SELECT id, sample_id, score, source FROM programs WHERE id IN ({marks})",
                               tuple(wanted)):
            out[row["id"]] = row
    if 0 in [int(i) for i in ids]:
        seed = seed_program(store)
        if seed:
            out[0] = {"id": 0, "sample_id": -1, "score": seed["score"], "source": seed["source"]}
    return out


def program_row(store: RunStore, program_id: int) -> dict | None:
    rows = store.query("SELECT * FROM programs WHERE id = ?", (program_id,))
    return rows[0] if rows else None


def sample_row(store: RunStore, sample_id: int) -> dict | None:
    """Every column of one sample (newer columns included)."""
    rows = store.query("SELECT * FROM samples WHERE id = ?", (sample_id,))
    return rows[0] if rows else None


def program_of_sample(store: RunStore, sample_id: int) -> dict | None:
    rows = store.query("SELECT * FROM programs WHERE sample_id = ?", (sample_id,))
    return rows[0] if rows else None


def evaluation_of(store: RunStore, sample_id: int, program_hash: str | None) -> dict | None:
    """The evaluation of this sample, or (a duplicate) the first evaluation of the same program."""
    rows = store.query("SELECT * FROM evaluations WHERE sample_id = ?", (sample_id,))
    if not rows and program_hash:
        rows = store.query("SELECT * FROM evaluations WHERE program_hash = ? ORDER BY sample_id LIMIT 1",
                           (program_hash,))
    return rows[0] if rows else None


def samples_page(store: RunStore, offset: int, limit: int, failure: str | None, model: str | None) -> dict:
    """One page of samples in id order (short columns only; the message cut to 200 characters), filtered by
    failure class ("valid": none) and model, with the total that matches."""
    cond, args = [], []
    if failure == "valid":
        cond.append("s.failure IS NULL")
    elif failure:
        cond.append("s.failure = ?")
        args.append(failure)
    if model:
        cond.append("s.model = ?")
        args.append(model)
    where = ("WHERE " + " AND ".join(cond)) if cond else ""
    total = store.query(f"SELECT COUNT(*) AS n FROM samples s {where}", tuple(args))[0]["n"]
    rows = store.query(f"SELECT s.id, s.model, s.island, s.failure, substr(s.message, 1, 200) AS message, "
                       f"s.completion_tokens, p.id AS program_id, p.score FROM samples s "
                       f"LEFT JOIN programs p ON p.sample_id = s.id {where} ORDER BY s.id LIMIT ? OFFSET ?",
                       tuple(args) + (limit, offset))
    return {"total": total, "offset": offset, "rows": rows}


def decomposition_counts(run_dir: str | Path) -> dict:
    """What a sweep's decomposition needs from one run, per model: samples, duplicates, failed samples (any class
    but duplicate), valid new programs, the modelled cost of the samples and of their evaluations; plus the
    baseline score and every program's (model, island, score) in registration order."""
    with snapshot(run_dir) as store:
        per_model = store.query(
            "SELECT s.model, COUNT(*) AS samples, COALESCE(SUM(s.failure = 'duplicate'), 0) AS duplicates, "
            "COALESCE(SUM(s.failure IS NOT NULL AND s.failure != 'duplicate'), 0) AS failed, "
            "COALESCE(SUM(s.modelled_cost), 0) AS sample_cost, COALESCE(SUM(e.modelled_cost), 0) AS eval_cost "
            "FROM samples s LEFT JOIN evaluations e ON e.sample_id = s.id GROUP BY s.model ORDER BY s.model")
        baseline = store.query("SELECT score, modelled_cost FROM evaluations WHERE sample_id = -1")
        programs = store._db.execute("SELECT s.model, p.island, p.score FROM programs p "
                                     "LEFT JOIN samples s ON s.id = p.sample_id ORDER BY p.id").fetchall()
    return {"per_model": per_model, "baseline": baseline[0] if baseline else None, "programs": programs}
