"""Start, resume or replay a run: set up the run directory, the actors and the loop, and stop cleanly.

A new run evaluates its baseline first; then the settings it left open (registration mode, pipeline depth,
evaluators: orchestrator/sizing.py) are fixed from its engines and that timing, and written to its config.json,
so that `--resume` and `--replay` run with the same ones. Resume: orchestrator/resume.py.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import ray

from funsearch.config import RunConfig
from funsearch.orchestrator import sizing
from funsearch.orchestrator.cluster import init_ray
from funsearch.orchestrator.loop import SearchLoop
from funsearch.orchestrator.resume import restore
from funsearch.orchestrator.rows import utilisation
from funsearch.problem.loader import Problem, load_problem
from funsearch.records import EvalResult
from funsearch.store.run_store import RunStore, StoreError
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


def run_search(cfg: RunConfig, run_dir: Path | None = None, *, resume: bool = False,
               replay_from: Path | None = None, echo: Callable[[str], None] | None = None) -> RunSummary:
    """Run (or resume, or replay) a search to its stop condition. Ctrl-C saves state and returns."""
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    problem = load_problem(cfg.problem)
    if run_dir is None:
        run_dir = default_run_dir(cfg)
    store = RunStore(run_dir, create=not resume)
    if resume:
        refuse_changed_problem(store, problem)
    else:
        cfg.save(run_dir / "config.json")
        store.set_meta("config", cfg.model_dump())
        store.set_meta("problem", {"path": str(problem.path), "sha256": problem.sha256})
        store.set_meta("replay_of", str(replay_from) if replay_from else None)
    loop = SearchLoop(cfg, Path(run_dir), store, problem, replay_from, echo)
    init_ray(cfg.address, loop.pool.size() + (cfg.evaluators or 1) + 1,
             tuple({**cfg.proposer_resources, **cfg.evaluator_resources}))
    interrupted = False
    try:
        checkpoint = store.latest_checkpoint() if resume else None
        loop.start_actors(checkpoint.database if checkpoint else None)
        store.set_meta("protections", ray.get(loop.evals.actors[0].protections.remote()))
        if resume:
            baseline = store.baseline_evaluations()
            settle(loop, store, baseline[0]["seconds"] if baseline else None)
            restore(loop, store, checkpoint, seed_database)
        else:
            settle(loop, store, seed_database(loop).seconds)
        loop.start_proposers()
        store.set_meta("placement", {"proposers": loop.pool.nodes,
                                     "evaluators": ray.get([e.node.remote() for e in loop.evals.actors])})
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
    store.set_meta("utilisation", utilisation(loop, time.monotonic()))
    store.set_meta("proposer_stats", _stats(loop))
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


def refuse_changed_problem(store: RunStore, problem: Problem) -> None:
    """StoreError (one line) when the run was started on another text of its problem file: its samples were
    scored by the old one, so continuing would mix two problems in one run. Runs from before the hash was
    recorded are not checked."""
    recorded = (store.meta("problem") or {}).get("sha256")
    if recorded and recorded != problem.sha256:
        store.close()
        raise StoreError(f"{problem.path} has changed since this run started (sha256 {recorded[:12]} then, "
                         f"{problem.sha256[:12]} now): not resumed; start a new run")


def seed_database(loop: SearchLoop) -> EvalResult:
    """Evaluate the problem's baseline and register it on every island (sample id -1)."""
    from funsearch.program.canonical import program_hash

    result = loop.evals.evaluate_now(loop.problem.baseline_source)
    if not result.valid:
        raise RuntimeError(f"the baseline of {loop.problem.path.name} fails on split {loop.split}: "
                           f"{result.failure.value if result.failure else ''} {result.message}")
    h = program_hash(loop.problem.baseline_source)
    loop.accounts.charge_evaluation(result)
    loop.store.add_evaluation(loop._eval_row(-1, h, result))
    ray.get(loop.db.register.remote(loop.problem.baseline_source, result.signature, result.score, None,
                                    {"seed": True, "sample_id": -1}))
    loop.registered_hashes.add(h)
    loop.evals.record(h, result)
    loop.progress.best_score = result.score
    loop.echo(f"baseline: score {result.score:.6g}  {fmt_metrics(result.metrics)}")
    return result


def settle(loop: SearchLoop, store: RunStore, eval_seconds: float | None) -> None:
    """Fix the settings the config left open (sizing.resolve) and record them (config.json, meta)."""
    cfg = loop.cfg
    if None in (cfg.registration, cfg.in_flight, cfg.evaluators):
        cpus = int(ray.cluster_resources().get("CPU", 1)) if cfg.address else (os.cpu_count() or 1)
        cfg, basis = sizing.resolve(cfg, eval_seconds or 0.1, cpus)
        cfg.save(loop.run_dir / "config.json")
        store.set_meta("config", cfg.model_dump())
        store.set_meta("sizing", basis)
        loop.configure(cfg)
    if cfg.backend == "simulated":
        store.set_meta("simulated", {"from": cfg.simulated_from, "hardware": cfg.hardware,
                                     "batch": sizing.engine_batch(cfg), "sizes": list(cfg.model_sizes)})
    loop.echo(f"pipeline: {cfg.registration} registration, {cfg.in_flight} in flight per engine "
              f"(window {loop.schedule.window}), {cfg.evaluators} evaluator(s)"
              + (f"; SIMULATED engine from {cfg.simulated_from}" if cfg.backend == "simulated" else ""))


def _stats(loop: SearchLoop) -> list[dict]:
    try:
        return loop.pool.stats()
    except Exception:  # an actor that is gone has nothing to say
        return []


def fmt_metrics(metrics: dict) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in metrics.items())
