"""Start, resume or replay a run: set up the run directory, the actors and the loop, and stop cleanly.

Resume: the database comes back from the latest checkpoint; samples recorded
after it are registered again in order from their stored evaluations (programs
that were extracted but not yet evaluated are evaluated now); the ledger is
re-derived from the stored rows, so no cost is counted twice.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import ray

from funsearch.config import RunConfig
from funsearch.orchestrator.accounts import Accounts
from funsearch.orchestrator.cluster import init_ray
from funsearch.orchestrator.loop import SearchLoop
from funsearch.problem.loader import load_problem
from funsearch.program.strategies import PromptPlan
from funsearch.records import EvalResult, FailureKind, InstanceOutcome
from funsearch.search.sampling import PromptDraw
from funsearch.store.run_store import RunStore
from funsearch.weights.labels import model_label, path_component


@dataclass(frozen=True)
class RunSummary:
    """What a finished (or interrupted) run reports.

    Attributes:
      run_dir: where the run store lives.
      samples: samples recorded in total (including earlier sessions of a resumed run).
      best_score: best registered score, or None.
      best_source: source of the best program, or None.
      best_metrics: the problem's metrics of the best program on the train split.
      interrupted: True when stopped by Ctrl-C (state saved; resume with --resume).
      stop_reason: "samples", "budget", "interrupted" or "replay-exhausted".
      heldout: the best program on every other split of the problem: {split: {"valid", "score", "metrics",
        "failure", "message", "seconds"}} (empty when interrupted or switched off).
    """

    run_dir: Path
    samples: int
    best_score: float | None
    best_source: str | None
    best_metrics: dict
    interrupted: bool
    stop_reason: str
    heldout: dict = field(default_factory=dict)


def default_run_dir(cfg: RunConfig, out: str | Path = "runs") -> Path:
    """runs/<problem>__<model>__<seed>__<time>/: one path component under `out`, whatever the models are (a size,
    a spec's name for a .toml path, a .gguf file's stem; see weights/labels.py)."""
    models = "+".join(path_component(model_label(m), 32) for m in cfg.model_sizes)[:96]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(out) / f"{path_component(Path(cfg.problem).stem)}__{models}__{cfg.seed}__{stamp}"
    path, k = base, 1
    while path.exists():
        path, k = Path(f"{base}-{k}"), k + 1
    return path


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


def run_search(cfg: RunConfig, run_dir: Path | None = None, *, resume: bool = False,
               replay_from: Path | None = None, echo: Callable[[str], None] | None = None) -> RunSummary:
    """Run (or resume, or replay) a search to its stop condition. Ctrl-C saves state and returns."""
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    problem = load_problem(cfg.problem)
    if run_dir is None:
        run_dir = default_run_dir(cfg)
    store = RunStore(run_dir, create=not resume)
    if not resume:
        cfg.save(run_dir / "config.json")
        store.set_meta("config", cfg.model_dump())
        store.set_meta("replay_of", str(replay_from) if replay_from else None)
    loop = SearchLoop(cfg, Path(run_dir), store, problem, replay_from, echo)
    init_ray(cfg.address, loop.pool.size() + cfg.evaluators + 1,
             tuple({**cfg.proposer_resources, **cfg.evaluator_resources}))
    interrupted = False
    try:
        checkpoint = store.latest_checkpoint() if resume else None
        loop.start_actors(checkpoint.database if checkpoint else None)
        store.set_meta("protections", ray.get(loop.evals.actors[0].protections.remote()))
        store.set_meta("placement", {"proposers": loop.pool.nodes,
                                     "evaluators": ray.get([e.node.remote() for e in loop.evals.actors])})
        if resume:
            restore(loop, store, checkpoint)
        else:
            loop.seed_database()
        loop.run()
    except KeyboardInterrupt:
        interrupted = True
        loop.stop_reason = "interrupted"
        loop.pool.cancel()
        echo(f"\ninterrupted: state saved; continue with: funsearch run --resume {run_dir}")
    loop.register_ready()
    loop.checkpoint()
    best = ray.get(loop.db.best.remote())
    store.set_meta("stop_reason", loop.stop_reason)
    store.set_meta("ledger", loop.accounts.to_dict())
    store.set_meta("per_model", {m: t.as_dict() for m, t in loop.progress.per_model.items()})
    store.set_meta("pool", loop.pool.state())
    store.set_meta("utilisation", loop.utilisation())
    total = store.count("samples")
    metrics = store.metrics_of(best.hash) if best is not None else {}
    heldout = {}
    if best is not None and cfg.heldout and not interrupted:
        splits = [s for s in problem.splits if s != loop.split]
        echo(f"held out: evaluating the best program on {', '.join(splits)}")
        heldout = loop.evals.heldout(best.source, splits)
        store.set_meta("heldout", {"program_hash": best.hash, "train_split": loop.split, "train": metrics,
                                   "splits": heldout})
    store.close()
    return RunSummary(run_dir=Path(run_dir), samples=total, best_score=best.score if best else None,
                      best_source=best.source if best else None, best_metrics=metrics,
                      interrupted=interrupted, stop_reason=loop.stop_reason, heldout=heldout)


def resumed_draw(row: dict, records: dict, island_programs: dict[int, int]) -> PromptDraw:
    """The prompt draw of a sample recorded after the checkpoint (parents looked up in the checkpoint)."""
    parents = [records[i] for i in row["parent_ids"] or [] if i in records]
    plan = PromptPlan(row["prompt"] or "", "", None, len(parents), row.get("strategy") or "classic")
    return PromptDraw(row["island"], tuple(row["parent_ids"] or ()), tuple(p["hash"] for p in parents),
                      tuple(p["source"] for p in parents), plan, (row["params"] or {}).get("temperature", 0.0),
                      island_programs.get(row["island"], 0))


def restore(loop: SearchLoop, store: RunStore, checkpoint) -> None:
    """Bring a resumed loop to where the store says the run stopped."""
    last = checkpoint.last_sample_id if checkpoint else -1
    if checkpoint is None:
        loop.seed_database()
    for row in store.evaluations():
        loop.evals.record(row["program_hash"], eval_from_row(row))
    for row in store.samples_through(last):
        if row["program_hash"] and row["failure"] != FailureKind.DUPLICATE.value:
            loop.registered_hashes.add(row["program_hash"])
    for row in store.baseline_evaluations():
        loop.registered_hashes.add(row["program_hash"])
    loop.accounts = Accounts(loop.cfg)  # fresh: the stored rows (baseline included) are charged exactly once
    loop.accounts.restore_from_store(store)
    loop.island_programs = store.programs_per_island()
    records = {r["id"]: r for r in (checkpoint.database["records"] if checkpoint else [])}
    samples = store.samples_after(last)
    for row in samples:
        if row["failure"] in (FailureKind.DUPLICATE.value, FailureKind.NOOP.value, FailureKind.CASCADE_STOP.value):
            row["failure"] = None
        loop.outcomes[row["id"]] = row
        loop.draws[row["id"]] = resumed_draw(row, records, loop.island_programs)
        h = row["program_hash"]
        if h is not None and not loop.evals.known(h):
            loop.evals.enqueue(h, row["source"], loop.draws[row["id"]].parent_hashes)
    loop.next_register = last + 1
    loop.next_sample = (samples[-1]["id"] + 1) if samples else last + 1
    loop.progress.samples = loop.next_sample
    best = ray.get(loop.db.best.remote())
    loop.progress.best_score = best.score if best else None
    loop.echo(f"resumed at sample {loop.next_sample} (checkpoint at {last}); best {loop.progress.best_score}")
