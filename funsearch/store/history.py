"""A recorded run's rows as other packages read them: measured sample speeds (calibration), the ledger rows
behind budget curves, and the completions a replay feeds back."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from funsearch.store.run_store import RunStore

# prefill work is the prompt tokens the engine computed: those it reused from its KV cache cost nothing
# (stores written before samples.cached_tokens existed count every prompt token)
SPEED_SQL = ("SELECT model, backend, hardware, prompt_tokens - COALESCE({cached}, 0) AS prompt_tokens, "
             "completion_tokens, "
             "CASE WHEN busy_seconds > 0 THEN busy_seconds ELSE seconds END AS seconds "
             "FROM samples WHERE completion_tokens > 0 AND seconds > 0")
SPEED_COLUMNS = ("model", "backend", "hardware", "prompt_tokens", "completion_tokens", "seconds")
REPLAY_SQL = ("SELECT model, prompt, completion, seed, params, prompt_tokens, completion_tokens, cached_tokens, "
              "seconds, busy_seconds, finish_reason FROM samples WHERE model = ?")


@dataclass(frozen=True)
class LedgerRows:
    """What budget curves read from a finished run (each list in id order).

    Attributes:
      samples: id, island, prompt_tokens, completion_tokens, failure, program_hash, measured_cost, modelled_cost.
      evaluations: sample_id, program_hash, valid, score, metrics, measured_cost, modelled_cost.
      programs: sample_id, island, hash, score (in sample order).
      stop_reason: why the run stopped (None when it did not stop cleanly).
    """

    samples: list[dict]
    evaluations: list[dict]
    programs: list[dict]
    stop_reason: str | None


def sample_speeds(run_dir: Path) -> list[tuple[str, str, str, int, int, float]]:
    """(model, backend, hardware, computed prompt tokens, completion tokens, busy seconds) of every completed
    sample; the store is opened read-only (a store from before cached_tokens counts every prompt token)."""
    store = RunStore(run_dir, read_only=True)
    try:
        cached = "cached_tokens" if "cached_tokens" in store.columns("samples") else "0"
        return [tuple(r[k] for k in SPEED_COLUMNS) for r in store.query(SPEED_SQL.format(cached=cached))]
    finally:
        store.close()


def ledger_rows(run_dir: Path) -> LedgerRows:
    """The rows of a finished run that budget curves walk (see `LedgerRows`)."""
    store = RunStore(run_dir)
    try:
        return ledger_rows_of(store)
    finally:
        store.close()


def ledger_rows_of(store: RunStore) -> LedgerRows:
    """`ledger_rows` of an open store."""
    return LedgerRows(
        store.query("SELECT id, island, prompt_tokens, completion_tokens, failure, program_hash, measured_cost, "
                    "modelled_cost FROM samples ORDER BY id"),
        store.query("SELECT sample_id, program_hash, valid, score, metrics, measured_cost, "
                    "modelled_cost FROM evaluations ORDER BY sample_id"),
        store.query("SELECT sample_id, island, hash, score FROM programs ORDER BY sample_id, id"),
        store.meta("stop_reason"))


def recorded_models(run_dir: str | Path) -> list[str]:
    """The model size of every recorded sample, by sample id (ids are dense from 0)."""
    store = RunStore(run_dir)
    try:
        return [row["model"] for row in store.query("SELECT model FROM samples ORDER BY id")]
    finally:
        store.close()


def replay_rows(run_dir: str | Path, size: str) -> list[dict]:
    """Every recorded request to `size`: prompt, completion, seed, sampling params and usage."""
    store = RunStore(run_dir)
    try:
        return store.query(REPLAY_SQL, (size,))
    finally:
        store.close()
