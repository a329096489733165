"""The run store: rows survive reopening, JSON fields round-trip, checkpoints return the latest."""
import sqlite3

import pytest

from funsearch.records import FailureKind
from funsearch.store.run_store import RunStore, StoreError


def test_rows_round_trip_and_survive_reopen(tmp_path):
    store = RunStore(tmp_path / "run", create=True)
    store.add_sample({"id": 0, "model": "small", "prompt": "p", "completion": "c", "params": {"seed": 3},
                      "parent_ids": [1, 2], "prompt_tokens": 10, "completion_tokens": 5,
                      "failure": FailureKind.SYNTAX_ERROR})
    store.add_evaluation({"sample_id": 0, "program_hash": "h", "valid": 1, "score": -3.5,
                          "per_instance": [{"name": "a", "score": -3.5}], "metrics": {"x": 1.0}})
    store.close()
    again = RunStore(tmp_path / "run")
    (sample,) = again.samples()
    assert sample["params"] == {"seed": 3} and sample["parent_ids"] == [1, 2]
    assert sample["failure"] == "syntax_error"
    (ev,) = again.evaluations()
    assert ev["per_instance"][0]["score"] == -3.5 and ev["metrics"] == {"x": 1.0}


def test_replacing_a_sample_updates_it(tmp_path):
    store = RunStore(tmp_path / "run", create=True)
    store.add_sample({"id": 4, "model": "small", "failure": None})
    store.add_sample({"id": 4, "model": "small", "failure": "duplicate"})
    assert store.count("samples") == 1 and store.samples()[0]["failure"] == "duplicate"


def test_latest_checkpoint_wins(tmp_path):
    store = RunStore(tmp_path / "run", create=True)
    assert store.latest_checkpoint() is None
    store.add_checkpoint(9, {"a": 1})
    store.add_checkpoint(19, {"a": 2}, {"pool": {}})
    cp = store.latest_checkpoint()
    assert (cp.last_sample_id, cp.database, cp.extra) == (19, {"a": 2}, {"pool": {}})


def test_missing_run_dir_is_one_line_error(tmp_path):
    with pytest.raises(StoreError, match="not a run directory"):
        RunStore(tmp_path / "nothing")


def test_store_is_plain_sqlite_in_wal_mode(tmp_path):
    RunStore(tmp_path / "run", create=True).add_sample({"id": 0})
    con = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 1


def test_a_store_from_before_cached_tokens_is_migrated(tmp_path):
    (tmp_path / "old").mkdir()
    from funsearch.store.run_store import SCHEMA

    con = sqlite3.connect(tmp_path / "old" / "run.sqlite")
    old_schema = SCHEMA.replace(" cached_tokens INTEGER,", "")
    assert old_schema != SCHEMA
    con.executescript(old_schema)
    con.commit()
    con.close()
    store = RunStore(tmp_path / "old")
    store.add_sample({"id": 0, "model": "small", "prompt_tokens": 10, "cached_tokens": 7})
    assert store.samples()[0]["cached_tokens"] == 7
