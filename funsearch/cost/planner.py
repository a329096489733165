"""The capacity planner behind `funsearch plan`: balancing proposals against evaluation with a fluid
(queue-free) model of the two worker pools.

An engine of size s makes r_s = batch / seconds samples per second (roofline.py). A fraction f of samples
reaches evaluation (the rest fail extraction or are duplicates), each costing e wall seconds on one core. With
n_s engines and E evaluators:
  proposal rate  R = sum_s n_s r_s             evaluation capacity  C = E / (f e)
  throughput     T = min(R, C)                 utilisation          proposers T / R, evaluators T / C
  evaluators to keep the proposers busy  ceil(R f e);  engines to keep E evaluators busy  ceil(C / r).
When the proposers run on the evaluators' own cores (a cpu profile with no core left over), the two sides
alternate: T = n / (t + f e) for n engines with t seconds per sample; utilisations t / (t + f e), f e / (t + f e).
Pipeline depth: at least one batch per engine (an engine with fewer sequences in flight wastes its batch, and a
full batch still keeps up when evaluation turns out faster than planned: fewer samples reach it, or they are
cheaper); more where Little's law asks for it: a sample spends about L (the engine's latency at its batch) plus
f e (its share of evaluation) between its prompt and its registration, so sustaining T samples/s needs
T (L + f e) in flight (with headroom); at most two batches (more only queues in the engine and makes prompts
staler).
Pure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from funsearch.cost.budget import Budget, BudgetUnit, Totals
from funsearch.cost.hardware import Calibration, CostError, HardwareProfile
from funsearch.cost.roofline import ModelLike, SampleCost, evaluation_cost, sample_cost


@dataclass(frozen=True)
class Balance:
    """Both sides of a pool at given counts.

    Attributes:
      proposal_rate: samples/s the proposer engines can make.
      evaluation_rate: samples/s the evaluators can absorb (counting samples that skip evaluation).
      samples_per_second: what the pair sustains, min of the two (or the alternating rate when shared).
      proposer_utilisation: fraction of time the engines are busy.
      evaluator_utilisation: fraction of time the evaluators are busy.
      shared_cores: True when proposers and evaluators alternate on the same cores.
    """

    proposal_rate: float
    evaluation_rate: float
    samples_per_second: float
    proposer_utilisation: float
    evaluator_utilisation: float
    shared_cores: bool = False


@dataclass(frozen=True)
class Split:
    """A recommended pool for a budget.

    Attributes:
      proposers: engines per model size.
      evaluators: evaluator workers (one core each); 0 when they share the proposers' cores.
      devices: devices (GPUs, or cpu-profile machines' cores for cpu) the engines use.
      balance: rates and utilisations at these counts.
      cost_per_sample: expected spend per sample in the budget's unit (evaluation included where it counts).
      expected_samples: samples the budget buys (floor), or None without a budget.
      hours: wall hours to spend the budget at this throughput, or None without a budget.
      in_flight: prompts per engine to keep drawn and not yet registered (`pipeline_depth`; `--in-flight`).
    """

    proposers: Mapping[str, int]
    evaluators: int
    devices: int
    balance: Balance
    cost_per_sample: float | None
    expected_samples: int | None
    hours: float | None
    in_flight: int = 1


def engine_rate(cost: SampleCost) -> float:
    """Samples per second of one engine: batch / seconds."""
    return cost.batch / cost.seconds


def evaluators_needed(proposal_rate: float, eval_seconds: float, eval_fraction: float = 1.0) -> int:
    """Evaluators that keep up with `proposal_rate` samples/s: ceil(R f e)."""
    return math.ceil(proposal_rate * eval_fraction * eval_seconds - 1e-9)


def proposers_needed(evaluators: int, rate_per_engine: float, eval_seconds: float, eval_fraction: float = 1.0) -> int:
    """Engines that keep `evaluators` busy: ceil(E / (f e) / r)."""
    return math.ceil(evaluators / (eval_fraction * eval_seconds) / rate_per_engine - 1e-9)


def pipeline_depth(engine_rate: float, latency: float, engines: int, evaluators: int, eval_seconds: float,
                   eval_fraction: float = 0.5, batch: int = 1, headroom: float = 1.5) -> int:
    """Prompts in flight per engine that sustain min(R, C) (see the module docstring): one batch, or Little's law
    with `headroom` where that is more, at most 2 * batch."""
    bal = balance(engines * engine_rate, evaluators, eval_seconds, eval_fraction)
    need = headroom * bal.samples_per_second * (latency + eval_fraction * eval_seconds)
    return max(1, batch, min(2 * batch, math.ceil(need / max(1, engines) - 1e-9)))


def balance(proposal_rate: float, evaluators: int, eval_seconds: float, eval_fraction: float = 1.0) -> Balance:
    """Both sides' utilisation with separate cores for proposers and evaluators."""
    work = eval_fraction * eval_seconds
    capacity = math.inf if work == 0 else evaluators / work
    t = min(proposal_rate, capacity)
    return Balance(proposal_rate, capacity, t, t / proposal_rate if proposal_rate else 0.0,
                   t / capacity if capacity and capacity != math.inf else 0.0)


def shared_balance(engines: int, seconds_per_sample: float, eval_seconds: float,
                   eval_fraction: float = 1.0) -> Balance:
    """Proposers and evaluation alternate on the same cores."""
    cycle = seconds_per_sample + eval_fraction * eval_seconds
    capacity = math.inf if eval_seconds == 0 else engines / (eval_fraction * eval_seconds)
    return Balance(engines / seconds_per_sample, capacity, engines / cycle, seconds_per_sample / cycle,
                   eval_fraction * eval_seconds / cycle, shared_cores=True)


def _allocate(rates: Mapping[str, float], devices: Mapping[str, int], shares: Mapping[str, float],
              budget_devices: int) -> dict[str, int]:
    """Greedy: add an engine of the size whose production share is furthest below its target, while one fits."""
    counts = {s: 0 for s in rates}
    left = budget_devices
    while True:
        fits = [s for s in rates if shares.get(s, 0) > 0 and devices[s] <= left]
        if not fits:
            return counts
        total = sum(counts[s] * rates[s] for s in rates)
        s = min(fits, key=lambda k: ((counts[k] * rates[k] / total if total else 0.0) / shares[k], k))
        counts[s] += 1
        left -= devices[s]


def _per_sample(unit: BudgetUnit, costs: Mapping[str, SampleCost], weights: Mapping[str, float], eval_dollars: float,
                throughput: float) -> float:
    """Expected spend of one sample in `unit`: the mean sample's modelled totals, counted as a ledger counts."""
    mean = Totals(samples=1, completion_tokens=sum(weights[s] * costs[s].tokens for s in costs),
                  wall_seconds=1 / throughput,
                  modelled_gpu_seconds=sum(weights[s] * costs[s].gpu_seconds for s in costs),
                  modelled_dollars=sum(weights[s] * costs[s].dollars for s in costs) + eval_dollars)
    return mean.spent_in(unit, "modelled")


def _gpu_split(costs: Mapping[str, SampleCost], rates: Mapping[str, float], shares: Mapping[str, float],
               hw: HardwareProfile, gpus: int, available: int, eval_seconds: float,
               eval_fraction: float) -> tuple[dict[str, int], int, Balance]:
    """Engines fill the GPUs by shares; the fewest evaluators (at most `available`) that keep them busy, or, when
    even those cannot keep up, the fewest GPUs whose engines (one per size in use) still saturate them."""
    dev = {k: c.devices for k, c in costs.items()}
    counts = _allocate(rates, dev, shares, gpus)
    if not any(counts.values()):
        need = min(c.devices for c in costs.values())
        raise CostError(f"no engine fits: the smallest needs {need} x {hw.name}, {gpus} given")
    capacity = math.inf if eval_fraction * eval_seconds == 0 else available / (eval_fraction * eval_seconds)
    for d in range(1, gpus):            # evaluator-bound: the fewest GPUs whose engines still saturate them
        fewer = _allocate(rates, dev, shares, d)
        if all(fewer[k] for k in counts if counts[k]) and sum(fewer[k] * rates[k] for k in fewer) >= capacity:
            counts = fewer
            break
    rate = sum(counts[k] * rates[k] for k in counts)
    evaluators = max(1, min(available, evaluators_needed(rate, eval_seconds, eval_fraction)))
    return counts, evaluators, balance(rate, evaluators, eval_seconds, eval_fraction)


def _cpu_split(rates: Mapping[str, float], shares: Mapping[str, float], cores: int, cpus: int, eval_seconds: float,
               eval_fraction: float) -> tuple[dict[str, int], int, Balance]:
    """Every engine count (each engine takes `cores` cores; the rest evaluate, or alternate with the engines when
    none is left); the count with the highest throughput wins."""
    best = None
    for n in range(1, max(1, cpus // cores) + 1):
        counts_n = _allocate(rates, {k: cores for k in rates}, shares, n * cores)
        rate = sum(counts_n[k] * rates[k] for k in counts_n)
        evaluators = cpus - n * cores
        if evaluators > 0:
            bal_n = balance(rate, min(evaluators, evaluators_needed(rate, eval_seconds, eval_fraction)),
                            eval_seconds, eval_fraction)
            evaluators = min(evaluators, evaluators_needed(rate, eval_seconds, eval_fraction))
        else:
            bal_n = shared_balance(n, n / rate, eval_seconds, eval_fraction)
            evaluators = 0
        if best is None or bal_n.samples_per_second > best[2].samples_per_second * (1 + 1e-9):
            best = (counts_n, evaluators, bal_n)
    return best


def recommend_split(specs: Sequence[ModelLike], hw: HardwareProfile, gpus: int, cpus: int, eval_seconds: float,
                    budget: Budget | None = None, prompt_tokens: int = 250, completion_tokens: int = 80,
                    shares: Mapping[str, float] | None = None, batch: int = 1, calibration: Calibration | None = None,
                    eval_fraction: float = 1.0, reserve_cpus: int = 1) -> Split:
    """Engines per size and evaluators for `gpus` GPUs and `cpus` cores, and what `budget` buys.

    GPU profile: engines fill the GPUs by `shares` of sample production (default equal); evaluators are the
    fewest that keep them busy, at most cpus - reserve_cpus (one core for the orchestrator). When even those
    cannot keep up, only the fewest GPUs whose engines (at least one per size in use) still saturate the evaluators
    are used.
    cpu profile: each engine takes hw.cores cores; every engine count is tried, the rest of the cores evaluate
    (alternating with the engines when none is left), and the count with the highest throughput wins.
    """
    if not specs:
        raise CostError("recommend_split needs at least one model size")
    shares = dict(shares or {s.name: 1.0 for s in specs})
    costs = {s.name: sample_cost(s, hw, prompt_tokens, completion_tokens, batch=batch, calibration=calibration)
             for s in specs}
    rates = {k: engine_rate(c) for k, c in costs.items()}
    eval_dollars = eval_fraction * evaluation_cost(eval_seconds, hw)
    if hw.kind == "gpu":
        counts, evaluators, bal = _gpu_split(costs, rates, shares, hw, gpus, max(1, cpus - reserve_cpus),
                                             eval_seconds, eval_fraction)
        devices = sum(counts[k] * costs[k].devices for k in counts)
    else:
        counts, evaluators, bal = _cpu_split(rates, shares, max(1, hw.cores), cpus, eval_seconds, eval_fraction)
        devices = sum(counts.values()) * max(1, hw.cores)
    engines = max(1, sum(counts.values()))
    latency = sum(counts[k] * costs[k].seconds for k in counts) / engines
    depth = pipeline_depth(bal.proposal_rate / engines, latency, engines, max(1, evaluators), eval_seconds,
                           eval_fraction, batch)
    if budget is None:
        return Split(counts, evaluators, devices, bal, None, None, None, depth)
    rate_total = sum(counts[k] * rates[k] for k in counts)
    weights = {k: counts[k] * rates[k] / rate_total for k in counts}
    per = _per_sample(budget.unit, costs, weights, eval_dollars, bal.samples_per_second)
    n = math.floor(budget.amount / per + 1e-9)
    return Split(counts, evaluators, devices, bal, per, n, n / bal.samples_per_second / 3600, depth)
