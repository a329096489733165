"""The run store's rows for one sample and one evaluation, and the loop's utilisation, built from what the loop
knows (pure)."""
from __future__ import annotations

from funsearch.proposers.base import Completion, SamplingParams
from funsearch.records import EvalResult
from funsearch.search.bookkeeping import SampleOutcome


def params_dict(params: SamplingParams, seed: int) -> dict:
    """The sampling parameters of one sample (its own seed), as replay keys them."""
    return {"temperature": params.temperature, "top_p": params.top_p, "max_tokens": params.max_tokens,
            "stop": list(params.stop), "seed": seed}


def sample_row(request, completion: Completion, outcome: SampleOutcome, costs: tuple[float, float],
               backend: str, hardware: str) -> dict:
    """Everything recorded about one sample (`request` is the pool's Request it answered)."""
    u = completion.usage
    return {"id": outcome.sample_id, "island": request.island, "parent_ids": request.parent_ids,
            "model": request.size, "backend": backend, "hardware": hardware,
            "prompt": request.prompt, "completion": completion.text, "seed": completion.seed,
            "params": params_dict(request.params, completion.seed),
            "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "cached_tokens": u.cached_prompt_tokens, "seconds": u.seconds, "busy_seconds": u.busy_seconds,
            "finish_reason": completion.finish_reason,
            "failure": outcome.failure.value if outcome.failure else None, "message": outcome.message,
            "program_hash": outcome.program_hash, "source": outcome.source,
            "measured_cost": costs[0], "modelled_cost": costs[1], "strategy": request.draw.plan.tag,
            "staleness": None}


def evaluation_row(sample_id: int, program_hash: str, result: EvalResult, costs: tuple[float, float]) -> dict:
    """Everything recorded about one evaluation (sample_id -1: the problem's baseline)."""
    return {"sample_id": sample_id, "program_hash": program_hash, "valid": int(result.valid),
            "score": result.score, "failure": result.failure.value if result.failure else None,
            "message": result.message, "per_instance": result.to_json()["per_instance"],
            "metrics": result.metrics, "seconds": result.seconds, "cpu_seconds": result.cpu_seconds,
            "measured_cost": costs[0], "modelled_cost": costs[1]}


def utilisation(loop, now: float) -> dict:
    """Busy fraction of each side since the loop started (the engines' share of each sample, evaluation seconds),
    samples per second, and the pipeline's settings and peaks (`loop` is an orchestrator.loop.SearchLoop)."""
    wall = max(now - (loop.loop_started if loop.loop_started is not None else now), 1e-9)
    return {"wall_seconds": wall, "samples_per_second": loop.progress.samples / wall,
            "proposers": loop.engine_seconds / (wall * loop.pool.size()),
            "evaluators": loop.progress.eval_seconds / (wall * len(loop.evals.actors)),
            "proposer_count": loop.pool.size(), "evaluator_count": len(loop.evals.actors),
            "registration": loop.schedule.mode, "in_flight": loop.cfg.in_flight, "window": loop.schedule.window,
            "peak_outstanding": loop.peaks["outstanding"], "peak_eval_queue": loop.peaks["eval_queue"]}
