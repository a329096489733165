"""Roofline cost model against numbers computed by hand."""

from functools import partial

import pytest

from funsearch.cost import hardware, roofline
from funsearch.cost.hardware import Calibration, CostError, HardwareProfile, Utilisation
from funsearch.cost.roofline import decode_seconds, devices_needed, kv_bytes_per_token, prefill_seconds, sample_cost

from fake_model import FakeSpec

Spec = partial(FakeSpec, bytes_per_param={"q": 0.5, "bf16": 2.0})


def hw(**kw) -> HardwareProfile:
    base = dict(name="x", display_name="x", kind="gpu", peak_flops=1e12, bandwidth=1e9, memory_bytes=1e12,
                price_per_hour=3.6, default_quant="q", max_devices=8, cpu_price_per_hour=0.036)
    base.update(kw)
    return HardwareProfile(**base)


ONE = Utilisation(1.0, 1.0)


def test_kv_bytes_per_token():
    # 2 layers * 2 kv heads * 4 head dim * 2 (K and V) * 2 bytes = 64
    assert kv_bytes_per_token(Spec()) == 64


def test_prefill_is_compute_bound():
    # 2 * 1e9 params * 100 tokens / (1e12 FLOP/s * 0.5) = 0.4 s
    assert prefill_seconds(Spec(), hw(), 100, Utilisation(0.5, 1.0)) == pytest.approx(0.4)
    # two devices halve it: 0.2 s
    assert prefill_seconds(Spec(), hw(), 100, Utilisation(0.5, 1.0), devices=2) == pytest.approx(0.2)


def test_decode_memory_bound_sums_growing_kv():
    # W = 1e9 * 0.5 = 5e8 B; KV 64 B/token; prompt 100 -> contexts 100, 101, 102
    # steps: (5e8 + 6400)/1e9 + (5e8 + 6464)/1e9 + (5e8 + 6528)/1e9 = (1.5e9 + 19392)/1e9
    got = decode_seconds(Spec(), hw(peak_flops=1e15), 100, 3, "q", ONE)
    assert got == pytest.approx(1.500019392, rel=1e-12)


def test_decode_compute_bound_at_large_batch():
    # compute per step = 2 * 1e9 * 4 / 1e9 = 8 s; memory (5e8 + 4*64*ctx)/1e9 ~ 0.5 s; 3 steps -> 24 s
    assert decode_seconds(Spec(), hw(peak_flops=1e9), 100, 3, "q", ONE, batch=4) == pytest.approx(24.0)


def test_decode_crossover_mid_generation():
    # N = 1 parameter, 1 byte each: W = 1 B; KV 1 layer*1 head*1 dim*2*0.5 = 1 B/token; B = 1 B/s, F = 1 FLOP/s
    # compute = 2*1*1/1 = 2 s; memory(t) = 1 + 0 + t -> 1, 2, 3, 4; max with 2 -> 2 + 2 + 3 + 4 = 11
    tiny = Spec(params_b=1e-9, layers=1, kv_heads=1, head_dim=1, bytes_per_param={"q": 1.0})
    got = decode_seconds(tiny, hw(peak_flops=1.0, bandwidth=1.0), 0, 4, "q", ONE, kv_bytes=0.5)
    assert got == pytest.approx(11.0)


def test_sample_cost_batch_and_price():
    # prefill per prompt 2e9*100/1e12 = 0.2 s, batch 2 -> 0.4 s
    # decode batch 2: W 5e8, KV 2*64 = 128 B per ctx token: (5e8 + 128*100)/1e9 + (5e8 + 128*101)/1e9
    #   = (1e9 + 12800 + 12928)/1e9 = 1.000025728 s; compute 2*1e9*2/1e12 = 0.004 s per step is smaller
    # seconds = 1.400025728; gpu_seconds = 1 device * seconds / 2; dollars = gpu_s * 3.6 / 3600
    c = sample_cost(Spec(), hw(), 100, 2, batch=2, calibration=Calibration("vllm", "x", ONE))
    assert c.seconds == pytest.approx(1.400025728, rel=1e-12)
    assert c.gpu_seconds == pytest.approx(0.700012864, rel=1e-12)
    assert c.dollars == pytest.approx(0.000700012864, rel=1e-12)
    assert (c.tokens, c.devices, c.batch) == (102, 1, 2)
    assert roofline.samples_per_hour(c) == pytest.approx(3600 / 0.700012864)
    assert roofline.cost_per_1000_samples(c, 0.001) == pytest.approx(1000 * (0.000700012864 + 0.001))


def test_calibration_per_model_overrides_default():
    cal = Calibration("llamacpp", "x", Utilisation(1.0, 1.0), models={"m": Utilisation(0.5, 0.5)})
    # every term divides by u: half the utilisation doubles the time (prefill 0.2 -> 0.4 s for p=100)
    assert sample_cost(Spec(), hw(), 100, 0, calibration=cal).seconds == pytest.approx(0.4)
    assert sample_cost(Spec(name="other"), hw(), 100, 0, calibration=cal).seconds == pytest.approx(0.2)


def test_default_calibration_by_backend_and_kind():
    assert hardware.default_calibration(None, hw()).default == Utilisation(0.5, 0.6)     # vllm on gpu
    assert hardware.default_calibration("llamacpp", hw()).default == Utilisation(0.3, 0.5)
    assert hardware.default_calibration(None, hw(kind="cpu")).default == Utilisation(1.0, 1.0)


def test_devices_needed_32b_bf16():
    table = hardware.load_hardware()
    xl = Spec(name="xl", params_b=32.764, layers=64, kv_heads=8, head_dim=128, context=32768,
              bytes_per_param={"bf16": 2.0})
    # W = 32.764e9 * 2 = 65.528e9; KV = 64*8*128*2*2 = 262,144 B/token * 32,768 = 8.590e9; need 74.118e9
    # H100 usable 80e9 * 0.9 = 72e9 < 74.1e9 -> 2; H200 usable 141e9 * 0.9 = 126.9e9 -> 1
    assert devices_needed(xl, table.get("h100"), "bf16") == 2
    assert devices_needed(xl, table.get("h200"), "bf16") == 1
    with pytest.raises(CostError, match=r"^model 'xl' \(bf16\) needs 74.1 GB but 1 x cpu hold 21.6 GB usable$"):
        devices_needed(xl, table.get("cpu"), "bf16")


def test_unknown_quant_and_hardware_messages():
    with pytest.raises(CostError, match=r"^model 'm' has no quantisation 'fp8'; it has: bf16, q$"):
        sample_cost(Spec(), hw(), 10, 10, quant="fp8")
    with pytest.raises(CostError, match=r"^unknown hardware 'tpu'; known: a100, cpu, h100, h200, l4$"):
        hardware.load_hardware().get("tpu")


def test_evaluation_cost():
    # 100 cpu-seconds at $0.036 per core-hour = 100 * 0.036 / 3600 = $0.001
    assert roofline.evaluation_cost(100, hw()) == pytest.approx(0.001)


def test_shipped_hardware_file():
    t = hardware.load_hardware()
    h100 = t.get("h100")
    assert (h100.peak_flops, h100.bandwidth, h100.memory_bytes) == (989.4e12, 3350e9, 80e9)
    assert t.get("h200").bandwidth == 4800e9 and t.get("l4").memory_bytes == 24e9
    assert t.get("cpu").kind == "cpu" and t.get("cpu").cores == 2
    assert t.cpu_price_per_hour == h100.cpu_price_per_hour == 0.045


def test_cpu_profile_against_notes_measurements():
    # Qwen 0.5B Q4_K_M on cpu, 225-token prompt, 53 tokens out; measured 225/137 + 53/22 = 4.05 s.
    small = Spec(name="small", params_b=0.494, layers=24, kv_heads=2, head_dim=64, context=32768,
                 bytes_per_param={"q4_k_m": 0.9947})
    c = sample_cost(small, hardware.load_hardware().get("cpu"), 225, 53)
    # prefill 2*0.494e9*225/0.17e12 = 1.3076 s; decode ~53 * 491.4e6/12.5e9 = 2.084 s (+KV) -> ~3.40 s
    assert c.prefill_seconds == pytest.approx(2 * 0.494e9 * 225 / 0.17e12)
    assert 3.38 < c.seconds < 3.42
    assert abs(c.seconds - 4.05) / 4.05 < 0.2    # uncalibrated profile within 20 % for this size
