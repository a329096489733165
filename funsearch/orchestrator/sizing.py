"""The settings a run leaves open, fixed at its start from its engines and `funsearch plan` (then recorded).

- registration: ordered beside a one-sequence engine (llama.cpp, scripted: nothing to gain from async, and the
  run stays a function of its seed and completions); async beside a batched engine (openai, vllm, simulated):
  one slow evaluation would otherwise hold every later registration, and so every later prompt, behind it;
  such engines do not sample bit-identically across batch compositions anyway, and `--replay` reproduces an async
  run from its recorded order.
- in_flight (prompts per engine drawn and not yet registered): 1 for a one-sequence engine (today's loop); for
  a batched engine, `planner.pipeline_depth`: one batch, or what Little's law asks for the plan's throughput
  where that is more, at most two batches.
- evaluators: 1 beside a one-sequence engine; else enough to absorb the engines' rate (planner.evaluators_needed),
  within the cluster's CPUs (one kept for the driver).
Pure but for reading the registry and hardware.toml.
"""
from __future__ import annotations

from funsearch.config import RunConfig

BATCHED = ("openai", "vllm", "simulated")
EVAL_FRACTION = 0.5  # share of samples that reach evaluation (the rest fail extraction or are duplicates)
PROMPT_TOKENS, COMPLETION_TOKENS = 250, 80  # the plan's defaults


def batched(cfg: RunConfig) -> bool:
    """Does the run's engine decode many sequences at once?"""
    return cfg.backend in BATCHED and cfg.mode != "random_mutation"


def engine_batch(cfg: RunConfig) -> int:
    if not batched(cfg):
        return 1
    return cfg.engine_batch or (cfg.modelled_batch if cfg.modelled_batch > 1 else 64)


def engine_profile(cfg: RunConfig):
    """The hardware profile the engines run on (an OpenAI-compatible server's: price_as when given)."""
    from funsearch.cost.hardware import load_hardware

    name = cfg.price_as if cfg.backend == "openai" and cfg.price_as else cfg.hardware
    return load_hardware().get(name)


def resolve(cfg: RunConfig, eval_seconds: float, cpus: int) -> tuple[RunConfig, dict]:
    """The config with registration, in_flight, evaluators and engine_batch set, and how they were chosen.

    `eval_seconds`: one evaluation of the baseline; `cpus`: the cluster's CPUs.
    """
    from funsearch.cost.planner import balance, evaluators_needed, pipeline_depth
    from funsearch.cost.roofline import sample_cost
    from funsearch.weights.registry import resolve_model

    batch = engine_batch(cfg)
    update: dict = {"registration": cfg.registration or ("async" if batched(cfg) else "ordered"),
                    "engine_batch": cfg.engine_batch or (batch if batched(cfg) else None)}
    engines = sum(cfg.counts().values())
    if not batched(cfg):
        update.update(in_flight=cfg.in_flight or 1, evaluators=cfg.evaluators or 1)
        return cfg.model_copy(update=update), {"basis": "one sequence per engine"}
    hw = engine_profile(cfg)
    if hw.kind != "gpu":  # a server on unknown hardware: keep its batch busy
        update.update(in_flight=cfg.in_flight or batch, evaluators=cfg.evaluators or max(1, cpus - 1))
        return cfg.model_copy(update=update), {"basis": f"engine batch ({hw.name} is no GPU profile)"}
    costs = [sample_cost(resolve_model(size), hw, PROMPT_TOKENS, COMPLETION_TOKENS, batch=batch)
             for size, k in cfg.counts().items() for _ in range(k)]
    rate = sum(batch / c.seconds for c in costs)
    latency = sum(c.seconds for c in costs) / len(costs)
    cpu_engines = 0 if cfg.backend in ("openai", "simulated") else engines
    evaluators = cfg.evaluators or max(1, min(evaluators_needed(rate, eval_seconds, EVAL_FRACTION),
                                              cpus - cpu_engines - 1))
    depth = cfg.in_flight or pipeline_depth(rate / engines, latency, engines, evaluators, eval_seconds,
                                            EVAL_FRACTION, batch)
    update.update(in_flight=depth, evaluators=evaluators)
    bal = balance(rate, evaluators, eval_seconds, EVAL_FRACTION)
    return cfg.model_copy(update=update), {
        "basis": "plan", "hardware": hw.name, "batch": batch, "engine_rate": rate, "latency": latency,
        "eval_seconds": eval_seconds, "eval_fraction": EVAL_FRACTION, "throughput": bal.samples_per_second,
        "proposer_utilisation": bal.proposer_utilisation, "evaluator_utilisation": bal.evaluator_utilisation}


def window(cfg: RunConfig, engines: int) -> int:
    """Samples that may be outstanding: in-flight prompts per engine * engines * samples per prompt."""
    return max(1, (cfg.in_flight or 1) * engines * cfg.samples_per_prompt)
