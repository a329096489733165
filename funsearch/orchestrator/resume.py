"""Resume a stopped run: the database from the latest checkpoint, the samples after it registered again.

Samples recorded after the checkpoint are registered again from their stored evaluations (programs that were
extracted but not yet evaluated are evaluated now): those the stopped session had registered come first, in its
recorded order, then the rest as the run's mode says. The ledger is re-derived from the stored rows, so no cost
is counted twice. A checkpoint from before the registration log counts samples by id (ordered runs only).
"""
from __future__ import annotations

import ray

from funsearch.orchestrator.accounts import Accounts
from funsearch.orchestrator.loop import SearchLoop
from funsearch.program.strategies import PromptPlan
from funsearch.records import EvalResult, FailureKind, InstanceOutcome
from funsearch.search.sampling import PromptDraw
from funsearch.store.run_store import RunStore

SETTLED_AT_REGISTRATION = (FailureKind.DUPLICATE.value, FailureKind.NOOP.value, FailureKind.CASCADE_STOP.value)


def eval_from_row(row: dict) -> EvalResult:
    """Rebuild an EvalResult from its evaluations row (for resume)."""
    outcomes = tuple(
        InstanceOutcome(name=str(o["name"]), score=o["score"],
                        failure=FailureKind(o["error"]["kind"]) if o.get("error") else None,
                        message=(o.get("error") or {}).get("message", ""), seconds=o.get("seconds", 0.0),
                        fingerprint=o.get("fingerprint", ""))
        for o in row["per_instance"] or [])
    return EvalResult(valid=bool(row["valid"]), score=row["score"], per_instance=outcomes,
                      failure=FailureKind(row["failure"]) if row["failure"] else None,
                      message=row["message"] or "", seconds=row["seconds"] or 0.0,
                      cpu_seconds=row["cpu_seconds"] or 0.0, metrics=row["metrics"] or {})


def resumed_draw(row: dict, records: dict, island_programs: dict[int, int]) -> PromptDraw:
    """The prompt draw of a sample recorded after the checkpoint (parents looked up in the checkpoint)."""
    parents = [records[i] for i in row["parent_ids"] or [] if i in records]
    plan = PromptPlan(row["prompt"] or "", "", None, len(parents), row.get("strategy") or "classic")
    return PromptDraw(row["island"], tuple(row["parent_ids"] or ()), tuple(p["hash"] for p in parents),
                      tuple(p["source"] for p in parents), plan, (row["params"] or {}).get("temperature", 0.0),
                      island_programs.get(row["island"], 0))


def split_rows(store: RunStore, checkpoint) -> tuple[int, list[dict], list[dict]]:
    """(registrations inside the checkpoint, sample rows inside it, rows after it in registration order)."""
    if checkpoint is None:
        return 0, [], store.samples()
    registered = checkpoint.extra.get("registered")
    if registered is None:  # a checkpoint from before the registration log: samples 0..last_sample_id
        last = checkpoint.last_sample_id
        return last + 1, store.samples_through(last), store.samples_after(last)
    after = store.samples_unregistered(registered)
    inside = store.samples("WHERE registered_seq < ?", (registered,))
    after.sort(key=lambda r: (r["registered_seq"] is None, r["registered_seq"] or 0, r["id"]))
    return registered, inside, after


def restore(loop: SearchLoop, store: RunStore, checkpoint, seed) -> None:
    """Bring a resumed loop to where the store says the run stopped (`seed` evaluates the baseline)."""
    if checkpoint is None:
        seed(loop)
    for row in store.evaluations():
        loop.evals.record(row["program_hash"], eval_from_row(row))
    registered, inside, after = split_rows(store, checkpoint)
    for row in inside:
        if row["program_hash"] and row["failure"] != FailureKind.DUPLICATE.value:
            loop.registered_hashes.add(row["program_hash"])
    for row in store.baseline_evaluations():
        loop.registered_hashes.add(row["program_hash"])
    loop.accounts = Accounts(loop.cfg)  # fresh: the stored rows (baseline included) are charged exactly once
    loop.accounts.restore_from_store(store)
    loop.island_programs = store.programs_per_island()
    records = {r["id"]: r for r in (checkpoint.database["records"] if checkpoint else [])}
    for row in after:
        if row["failure"] in SETTLED_AT_REGISTRATION:
            row["failure"] = None
        row["registered_seq"] = None
        sid = row["id"]
        loop.outcomes[sid] = row
        loop.draws[sid] = resumed_draw(row, records, loop.island_programs)
        loop.drawn_after[sid] = row.get("drawn_after") if row.get("drawn_after") is not None else registered
        loop._await(sid, row["program_hash"], row["source"], loop.draws[sid].parent_hashes)
    loop.registered = registered
    loop.next_sample = max([registered] + [r["id"] + 1 for r in after])
    loop.progress.samples = loop.next_sample
    best = ray.get(loop.db.best.remote())
    loop.progress.best_score = best.score if best else None
    loop.echo(f"resumed at sample {loop.next_sample} ({registered} registered at the checkpoint); "
              f"best {loop.progress.best_score}")
