"""The run store: one SQLite file per run that records every sample, evaluation and program.

It is written as the run goes (WAL journal, one short transaction per record), so
a crash loses at most the record being written; `funsearch run --resume` rebuilds
the database from the latest checkpoint plus the rows after it, and the cost
ledger is re-derived from the rows, so nothing is charged twice. A sample's row is
written when its completion arrives and written again (INSERT OR REPLACE, same id)
when registration settles its failure class (a duplicate, a failed evaluation).
Reads that other packages need are named methods here or functions in store/summary.py
and store/history.py: no SQL outside this package.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,            -- sample id, dense from 0 in draw order
    island INTEGER, parent_ids TEXT,   -- database choices for the prompt
    model TEXT, backend TEXT, hardware TEXT,
    prompt TEXT, completion TEXT, seed INTEGER, params TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, cached_tokens INTEGER, seconds REAL, busy_seconds REAL,
    finish_reason TEXT,
    failure TEXT, message TEXT,        -- failure class of the sample (NULL: valid program)
    program_hash TEXT, source TEXT,    -- the extracted function, when extraction worked
    measured_cost REAL, modelled_cost REAL, created REAL,
    strategy TEXT,                     -- the prompt strategy and what it drew ("edit:L3", "idea:formula", ...)
    staleness INTEGER,                 -- programs registered on the island between the prompt and this result
    drawn_after INTEGER,               -- samples registered (in all) when this prompt was drawn
    registered_seq INTEGER             -- this sample's place in the registration order (0, 1, ...)
);
CREATE TABLE IF NOT EXISTS evaluations (
    sample_id INTEGER PRIMARY KEY REFERENCES samples(id),
    program_hash TEXT, valid INTEGER, score REAL, failure TEXT, message TEXT,
    per_instance TEXT, metrics TEXT, seconds REAL, cpu_seconds REAL,
    measured_cost REAL, modelled_cost REAL, created REAL
);
CREATE TABLE IF NOT EXISTS programs (
    id INTEGER PRIMARY KEY, sample_id INTEGER, island INTEGER, hash TEXT, source TEXT,
    score REAL, signature TEXT, new_best INTEGER, created REAL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT, last_sample_id INTEGER, database TEXT, extra TEXT, created REAL
);
CREATE INDEX IF NOT EXISTS samples_model ON samples(model);
"""

SAMPLE_COLUMNS = ("id", "island", "parent_ids", "model", "backend", "hardware", "prompt", "completion", "seed",
                  "params", "prompt_tokens", "completion_tokens", "cached_tokens", "seconds", "busy_seconds",
                  "finish_reason",
                  "failure", "message", "program_hash", "source", "measured_cost", "modelled_cost", "strategy",
                  "staleness", "drawn_after", "registered_seq")
EVAL_COLUMNS = ("sample_id", "program_hash", "valid", "score", "failure", "message", "per_instance", "metrics",
                "seconds", "cpu_seconds", "measured_cost", "modelled_cost")
PROGRAM_COLUMNS = ("id", "sample_id", "island", "hash", "source", "score", "signature", "new_best")


class StoreError(Exception):
    """The run directory or its SQLite file is missing or unreadable. One-line message."""


@dataclass(frozen=True)
class Checkpoint:
    """A saved database state.

    Attributes:
      last_sample_id: the highest sample id whose result is inside `database` (-1: none).
      database: ProgramDatabase.to_dict() output.
      extra: anything else the orchestrator keeps (pool policy state...).
    """

    last_sample_id: int
    database: dict
    extra: dict


class RunStore:
    """The records of one run in RUN_DIR/run.sqlite (plus RUN_DIR/config.json).

    `read_only=True` opens an existing store without creating tables or adding columns (a store written by
    an older version is read as it is; see `columns`).
    """

    FILE = "run.sqlite"

    def __init__(self, run_dir: str | Path, create: bool = False, read_only: bool = False):
        self.run_dir = Path(run_dir)
        path = self.run_dir / self.FILE
        if create:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        elif not path.is_file():
            raise StoreError(f"not a run directory (no {self.FILE}): {self.run_dir}")
        try:
            if read_only:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
                return
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open run store {path}: {exc}") from None

    def columns(self, table: str) -> set[str]:
        """The columns `table` has in this file (older stores lack newer columns)."""
        return {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}

    def _migrate(self) -> None:
        """Add columns that newer versions write to a store made by an older one."""
        have = self.columns("samples")
        for column, kind in (("cached_tokens", "INTEGER"), ("strategy", "TEXT"), ("staleness", "INTEGER"),
                             ("drawn_after", "INTEGER"), ("registered_seq", "INTEGER")):
            if column not in have:
                self._db.execute(f"ALTER TABLE samples ADD COLUMN {column} {kind}")

    # --- writing -----------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def add_sample(self, row: dict) -> None:
        self._insert("samples", SAMPLE_COLUMNS, row, replace=True)

    def add_evaluation(self, row: dict) -> None:
        self._insert("evaluations", EVAL_COLUMNS, row, replace=True)

    def add_program(self, row: dict) -> None:
        self._insert("programs", PROGRAM_COLUMNS, row, replace=True)

    def add_checkpoint(self, last_sample_id: int, database: dict, extra: dict | None = None) -> None:
        self._db.execute("INSERT INTO checkpoints (last_sample_id, database, extra, created) VALUES (?, ?, ?, ?)",
                         (last_sample_id, json.dumps(database), json.dumps(extra or {}), time.time()))

    def _insert(self, table: str, columns: tuple[str, ...], row: dict, replace: bool) -> None:
        values = [_encode(row.get(c)) for c in columns] + [time.time()]
        names = ", ".join(columns) + ", created"
        marks = ", ".join("?" for _ in range(len(columns) + 1))
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self._db.execute(f"{verb} INTO {table} ({names}) VALUES ({marks})", values)

    # --- reading -----------------------------------------------------------------
    def programs_per_island(self) -> dict[int, int]:
        """Island -> programs registered there (the seed program, on every island, not counted)."""
        rows = self._db.execute("SELECT island, COUNT(*) FROM programs WHERE island IS NOT NULL GROUP BY island")
        return {int(island): int(n) for island, n in rows}

    def meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def samples(self, where: str = "", args: tuple = ()) -> list[dict]:
        """Sample rows in id order; `where` is a SQL condition (for this package and tests only)."""
        return self._rows(f"SELECT * FROM samples {where} ORDER BY id", args)

    def samples_through(self, last_id: int) -> list[dict]:
        """Samples with id <= last_id (those inside a checkpoint)."""
        return self.samples("WHERE id <= ?", (last_id,))

    def samples_after(self, last_id: int) -> list[dict]:
        """Samples with id > last_id (those after a checkpoint)."""
        return self.samples("WHERE id > ?", (last_id,))

    def registration_log(self) -> list[tuple[int, int | None, int | None]]:
        """(sample id, drawn_after, registered_seq) of every sample in id order: the interleaving of prompt draws
        and registrations that `--replay` repeats (None where a store predates it or a sample was not registered)."""
        if "registered_seq" not in self.columns("samples"):
            return [(r[0], None, None) for r in self._db.execute("SELECT id FROM samples ORDER BY id")]
        return [tuple(r) for r in self._db.execute("SELECT id, drawn_after, registered_seq FROM samples ORDER BY id")]

    def samples_unregistered(self, registered: int) -> list[dict]:
        """Samples outside a checkpoint holding `registered` registrations: those registered later (in their
        recorded order) and those never registered (in id order)."""
        return self.samples("WHERE registered_seq IS NULL OR registered_seq >= ?", (registered,))

    def recorded_completions(self) -> list[dict]:
        """Every answered sample's prompt, completion, strategy and token counts (what a simulated engine replays)."""
        strategy = "strategy" if "strategy" in self.columns("samples") else "NULL AS strategy"
        return self._rows(f"SELECT id, model, prompt, completion, {strategy}, prompt_tokens, completion_tokens "
                          "FROM samples WHERE completion IS NOT NULL AND COALESCE(finish_reason, '') != 'error' "
                          "ORDER BY id")

    def evaluations(self, where: str = "", args: tuple = ()) -> list[dict]:
        """Evaluation rows in sample-id order; `where` as in `samples`."""
        return self._rows(f"SELECT * FROM evaluations {where} ORDER BY sample_id", args)

    def baseline_evaluations(self) -> list[dict]:
        """The evaluation of the problem's own baseline (sample id -1), when it was recorded."""
        return self.evaluations("WHERE sample_id = -1")

    def metrics_of(self, program_hash: str) -> dict:
        """The problem's metrics of one evaluated program ({} when none was recorded)."""
        rows = self._rows("SELECT metrics FROM evaluations WHERE program_hash = ? LIMIT 1", (program_hash,))
        return (rows[0]["metrics"] if rows else None) or {}

    def programs(self) -> list[dict]:
        return self._rows("SELECT * FROM programs ORDER BY id")

    def latest_checkpoint(self) -> Checkpoint | None:
        row = self._db.execute(
            "SELECT last_sample_id, database, extra FROM checkpoints ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else Checkpoint(row[0], json.loads(row[1]), json.loads(row[2]))

    def count(self, table: str) -> int:
        return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def query(self, sql: str, args: tuple = ()) -> list[dict]:
        """Rows of any SELECT, JSON columns decoded (for the readers in this package)."""
        return self._rows(sql, args)

    def _rows(self, sql: str, args: tuple = ()) -> list[dict]:
        cur = self._db.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [_decode_row(dict(zip(names, r))) for r in cur.fetchall()]

    def close(self) -> None:
        self._db.close()


JSON_FIELDS = {"parent_ids", "params", "per_instance", "metrics", "signature"}


def _encode(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):  # enums
        return value.value
    return value


def _decode_row(row: dict) -> dict:
    for key in JSON_FIELDS & row.keys():
        if isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return row
