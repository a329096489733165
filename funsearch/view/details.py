"""What clicking a node or a sample shows: its source, a unified diff against each parent, its per-instance
scores, the prompt and the completion that produced it, its failure class and message, and every other column
the store recorded for it (newer columns included). Also the paged, filtered list of samples.

All of it is untrusted text: it goes to the page as JSON strings and the page only ever sets it as text.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from funsearch.store import view_queries as q

SHOWN = {"id", "prompt", "completion", "source", "failure", "message", "parent_ids", "program_hash", "island",
         "model", "created"}
INSTANCES = 500  # per-instance rows shipped per program (a note says how many more there are)
PAGE = 100


def sample_detail(run_dir: Path, sample_id: int) -> dict | None:
    """One sample (or, for -1, the seed program) with its evaluation, program, parents and diffs; None when the
    store has no such sample."""
    with q.snapshot(run_dir) as store:
        if sample_id == -1:
            return _seed_detail(store)
        sample = q.sample_row(store, sample_id)
        if sample is None:
            return None
        evaluation = q.evaluation_of(store, sample_id, sample.get("program_hash"))
        program = q.program_of_sample(store, sample_id)
        parent_ids = [int(p) for p in (sample.get("parent_ids") or [])]
        parents = q.program_sources(store, parent_ids)
    source = sample.get("source")
    return {
        "sample_id": sample_id,
        "program": None if program is None else {k: program.get(k) for k in ("id", "score", "new_best", "hash")},
        "model": sample.get("model"), "island": sample.get("island"),
        "failure": sample.get("failure") or (evaluation or {}).get("failure"),
        "message": sample.get("message") or (evaluation or {}).get("message") or "",
        "source": source, "prompt": sample.get("prompt"), "completion": sample.get("completion"),
        "parents": [_parent(pid, parents.get(pid), source) for pid in parent_ids],
        "evaluation": _evaluation(evaluation),
        "fields": {k: v for k, v in sample.items() if k not in SHOWN},
    }


def _seed_detail(store) -> dict:
    seed = q.seed_program(store)
    baseline = store.baseline_evaluations()
    return {"sample_id": -1, "program": {"id": 0, "score": seed["score"] if seed else None, "new_best": 0},
            "model": None, "island": None, "failure": None, "message": "",
            "source": seed["source"] if seed else None, "prompt": None, "completion": None, "parents": [],
            "evaluation": _evaluation(baseline[0] if baseline else None),
            "fields": {"note": "the seed program: the problem file's own function (registered on every island)"}}


def _parent(pid: int, parent: dict | None, source: str | None) -> dict:
    if parent is None:
        return {"id": pid, "score": None, "diff": None, "note": "this parent's source is not in the store yet"}
    diff = None
    if source is not None and parent.get("source") is not None:
        diff = list(difflib.unified_diff(parent["source"].splitlines(), source.splitlines(),
                                         f"parent #{pid}", "this program", lineterm="", n=3))
    return {"id": pid, "sample_id": parent.get("sample_id"), "score": parent.get("score"), "diff": diff}


def _evaluation(row: dict | None) -> dict | None:
    if row is None:
        return None
    instances = row.get("per_instance") or []
    return {"valid": row.get("valid"), "score": row.get("score"), "failure": row.get("failure"),
            "message": row.get("message") or "", "metrics": row.get("metrics") or {},
            "seconds": row.get("seconds"), "cpu_seconds": row.get("cpu_seconds"),
            "instances": instances[:INSTANCES], "instances_total": len(instances)}


def samples_list(run_dir: Path, offset: int = 0, failure: str | None = None, model: str | None = None) -> dict:
    """One page (PAGE rows) of samples from `offset`, filtered by failure class ("valid": none) and model."""
    with q.snapshot(run_dir) as store:
        page = q.samples_page(store, max(0, offset), PAGE, failure or None, model or None)
    page["page"] = PAGE
    return page
