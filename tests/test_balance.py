"""Balance model: evaluators vs proposers, by hand."""

from functools import partial

import pytest

from funsearch.cost import planner
from funsearch.cost.budget import Budget
from funsearch.cost.hardware import Calibration, CostError, HardwareProfile, Utilisation
from funsearch.cost.roofline import SampleCost

from fake_model import FakeSpec

Spec = partial(FakeSpec, layers=1, kv_heads=1, head_dim=1, context=1, bytes_per_param={"q": 1.0})


def hw(kind="gpu", **kw):
    base = dict(name=kind, display_name=kind, kind=kind, peak_flops=1e12, bandwidth=1e10, memory_bytes=1e12,
                price_per_hour=3.6, default_quant="q", max_devices=8, cores=2 if kind == "cpu" else 0,
                cpu_price_per_hour=0.036)
    base.update(kw)
    return HardwareProfile(**base)


ONE = Calibration("vllm", "gpu", Utilisation(1.0, 1.0))


def test_engine_rate():
    # batch 4 in 2 s -> 2 samples/s
    assert planner.engine_rate(SampleCost(seconds=2.0, gpu_seconds=0.5, dollars=0, tokens=1, batch=4)) == 2.0


def test_evaluators_and_proposers_needed():
    # 3 engines * 2 samples/s = 6/s; half are evaluated, 0.5 s each: 6 * 0.5 * 0.5 = 1.5 -> 2 evaluators
    assert planner.evaluators_needed(6.0, eval_seconds=0.5, eval_fraction=0.5) == 2
    # exactly 3.0 does not round up to 4
    assert planner.evaluators_needed(6.0, eval_seconds=1.0, eval_fraction=0.5) == 3
    # 3 evaluators absorb 3 / (0.5 * 0.5) = 12 samples/s; at 2/s per engine -> 6 engines
    assert planner.proposers_needed(3, 2.0, eval_seconds=0.5, eval_fraction=0.5) == 6


def test_balance_utilisation():
    # proposals 6/s; 1 evaluator absorbs 1 / (0.5 * 0.5) = 4/s -> throughput 4; proposers 4/6 busy
    b = planner.balance(6.0, 1, eval_seconds=0.5, eval_fraction=0.5)
    assert (b.evaluation_rate, b.samples_per_second) == (4.0, 4.0)
    assert b.proposer_utilisation == pytest.approx(4 / 6) and b.evaluator_utilisation == 1.0


def test_shared_cores_alternate():
    # 4 s per sample, 1 s evaluation, all evaluated: one sample per 5 s; busy 4/5 and 1/5
    b = planner.shared_balance(1, 4.0, 1.0)
    assert b.samples_per_second == pytest.approx(0.2)
    assert (b.proposer_utilisation, b.evaluator_utilisation) == (pytest.approx(0.8), pytest.approx(0.2))
    assert b.shared_cores


def test_recommend_split_gpu_one_size():
    # prefill 2e9*100/1e12 = 0.2 s; decode 10 steps * (1e9 + ~100 B)/1e10 ~ 1.0 s -> ~1.2 s per sample, ~0.833/s
    # 4 GPUs -> 4 engines, 3.33 samples/s; eval 2 s: needs ceil(3.33 * 2) = 7 evaluators; 9 cpus - 1 = 8 available
    s = planner.recommend_split([Spec()], hw(), gpus=4, cpus=9, eval_seconds=2.0, budget=Budget.parse("1000-samples"),
                                prompt_tokens=100, completion_tokens=10, calibration=ONE)
    assert s.proposers == {"m": 4} and s.evaluators == 7 and s.devices == 4
    assert s.balance.proposer_utilisation == 1.0
    assert s.balance.evaluator_utilisation == pytest.approx(s.balance.proposal_rate * 2.0 / 7)
    assert s.expected_samples == 1000 and s.hours == pytest.approx(1000 / s.balance.samples_per_second / 3600)


def test_recommend_split_gpu_evaluator_bound():
    # only 2 cpus: 1 evaluator absorbs 1 / 2 s = 0.5/s. One engine already makes more: sample = prefill 0.2 s +
    # decode (1e10 + 4 B * (100 + ... + 109) = 4180) / 1e10 = 1.000000418 s -> 1.200000418 s, 0.8333/s.
    # So 1 GPU of the 4 is used, busy 0.5 * 1.200000418 = 0.600000209 of the time.
    s = planner.recommend_split([Spec()], hw(), gpus=4, cpus=2, eval_seconds=2.0, prompt_tokens=100,
                                completion_tokens=10, calibration=ONE)
    assert s.proposers == {"m": 1} and s.devices == 1 and s.evaluators == 1
    assert s.balance.samples_per_second == 0.5
    assert s.balance.proposer_utilisation == pytest.approx(0.600000209, rel=1e-9)


def test_recommend_split_two_sizes_by_shares():
    big = Spec(name="big", params_b=2.0)   # half the rate of "m" (both prefill and decode double)
    s = planner.recommend_split([Spec(), big], hw(), gpus=6, cpus=64, eval_seconds=0.1, prompt_tokens=100,
                                completion_tokens=10, calibration=ONE)
    # equal production shares: the slower size needs twice the engines -> 2 of "m", 4 of "big"
    assert s.proposers == {"m": 2, "big": 4}


def test_recommend_split_this_cpu_alternates():
    # cpu profile, 2 cores: one engine uses both, evaluation alternates with it
    cpu = hw("cpu", peak_flops=1e11, bandwidth=1e10)
    cal = Calibration("llamacpp", "cpu", Utilisation(1.0, 1.0))
    s = planner.recommend_split([Spec()], cpu, gpus=0, cpus=2, eval_seconds=1.0, budget=Budget.parse("30m"),
                                prompt_tokens=100, completion_tokens=10, calibration=cal)
    # prefill 2e9*100/1e11 = 2.0 s; decode: W = 1e9 B, KV 1*1*1*2*2 = 4 B/token, contexts 100..109:
    #   (10 * 1e9 + 4 * 1045) / 1e10 = 1.000000418 s; sample 3.000000418 s; cycle + 1.0 s eval = 4.000000418 s
    assert s.proposers == {"m": 1} and s.evaluators == 0 and s.balance.shared_cores
    assert s.balance.proposer_utilisation == pytest.approx(3.000000418 / 4.000000418, rel=1e-12)
    assert s.cost_per_sample == pytest.approx(4.000000418, rel=1e-12)
    assert s.expected_samples == 449          # floor(1800 / 4.000000418) = floor(449.99995)


def test_recommend_split_cpu_with_spare_cores_prefers_dedicated_evaluators():
    cpu = hw("cpu", peak_flops=1e11, bandwidth=1e10)
    cal = Calibration("llamacpp", "cpu", Utilisation(1.0, 1.0))
    # 4 cores: 2 engines alternating (2 / 4 s = 0.5/s) vs 1 engine + 2 evaluators (1 / 3 s = 0.333/s)
    s = planner.recommend_split([Spec()], cpu, gpus=0, cpus=4, eval_seconds=1.0, prompt_tokens=100,
                                completion_tokens=10, calibration=cal)
    assert s.proposers == {"m": 2} and s.balance.samples_per_second == pytest.approx(0.5, rel=1e-6)
    # eval 4 s: 1 engine + 2 evaluators gives min(1/3, 2/4) = 0.333/s; 2 engines alternating 2/(3+4) = 0.286/s
    s4 = planner.recommend_split([Spec()], cpu, gpus=0, cpus=4, eval_seconds=4.0, prompt_tokens=100,
                                 completion_tokens=10, calibration=cal)
    assert s4.proposers == {"m": 1} and s4.evaluators == 2      # ceil(0.333 * 4) = 2
    assert s4.balance.evaluator_utilisation == pytest.approx(1 / 3.000000418 * 4 / 2, rel=1e-9)


def test_no_engine_fits_message():
    with pytest.raises(CostError, match=r"^no engine fits: the smallest needs 1 x gpu, 0 given$"):
        planner.recommend_split([Spec()], hw(), gpus=0, cpus=4, eval_seconds=1.0)


def test_evaluator_bound_keeps_one_engine_per_size():
    big = Spec(name="big", params_b=2.0)
    s = planner.recommend_split([Spec(), big], hw(), gpus=8, cpus=2, eval_seconds=2.0, prompt_tokens=100,
                                completion_tokens=10, calibration=ONE)
    # one engine alone would saturate the single evaluator, but both sizes stay in the pool
    assert s.proposers == {"m": 1, "big": 1} and s.devices == 2
