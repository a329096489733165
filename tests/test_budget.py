"""Budget parsing and the two-sided ledger."""

import pytest

from funsearch.cost import hardware
from funsearch.cost.budget import Budget, BudgetError, BudgetUnit, Ledger
from funsearch.cost.hardware import HardwareProfile, HardwareTable

from fake_model import FakeSpec

Spec = FakeSpec


def profile(name, price, kind="gpu"):
    return HardwareProfile(name=name, display_name=name, kind=kind, peak_flops=1e12, bandwidth=1e9,
                           memory_bytes=1e12, price_per_hour=price, default_quant="q", cpu_price_per_hour=0.036)


CPU = profile("cpu", 0.36, kind="cpu")     # $0.36/h  = $0.0001 per second
GPU = profile("gpu", 3.6)                  # $3.60/h  = $0.001 per second
TABLE = HardwareTable({"cpu": CPU, "gpu": GPU}, cpu_price_per_hour=0.036)
# Modelled seconds of Spec on GPU for 100 prompt + 2 completion tokens, utilisation 0.5/0.6 (vllm default):
#   prefill 2e9*100/(1e12*0.5) = 0.4; decode ((5e8+6400) + (5e8+6464))/(1e9*0.6) = 1.000012864/0.6
MODEL_S = 0.4 + 1.000012864 / 0.6


@pytest.mark.parametrize("text,unit,amount", [
    ("2gpu-h", BudgetUnit.GPU_SECONDS, 7200.0),       # 2 * 3600
    ("90gpu-s", BudgetUnit.GPU_SECONDS, 90.0),
    ("$5", BudgetUnit.DOLLARS, 5.0),
    ("5usd", BudgetUnit.DOLLARS, 5.0),
    ("200k-tokens", BudgetUnit.TOKENS, 200_000.0),
    ("1.5M-tokens", BudgetUnit.TOKENS, 1_500_000.0),
    ("30m", BudgetUnit.WALL_SECONDS, 1800.0),          # 30 * 60
    ("2h", BudgetUnit.WALL_SECONDS, 7200.0),
    ("45s", BudgetUnit.WALL_SECONDS, 45.0),
    ("500-samples", BudgetUnit.SAMPLES, 500.0),
])
def test_parse_accepted_forms(text, unit, amount):
    b = Budget.parse(text)
    assert (b.unit, b.amount, b.text) == (unit, amount, text)


@pytest.mark.parametrize("text", ["", "5", "2gpu", "$", "-3h", "0h", "5eur", "1.5x-tokens", "two hours"])
def test_parse_rejects_with_one_line(text):
    with pytest.raises(BudgetError) as e:
        Budget.parse(text)
    assert str(e.value) == (f"invalid budget {text!r}; use one of: 2gpu-h, 90gpu-s, $5, 5usd, 200k-tokens, "
                            f"1.5M-tokens, 30m, 2h, 45s, 500-samples (amount > 0)")


def test_sample_charged_measured_and_modelled():
    led = Ledger(Budget.parse("$1"), CPU, modelled_hw=GPU)
    ch = led.charge_sample(100, 2, 10.0, Spec())
    assert ch.measured_gpu_seconds == 10.0
    assert ch.measured_dollars == pytest.approx(10 * 0.36 / 3600)          # $0.001
    assert ch.modelled_seconds == pytest.approx(MODEL_S)
    assert ch.modelled_dollars == pytest.approx(MODEL_S * 3.6 / 3600)
    assert led.totals.tokens == 102 and led.totals.samples == 1


def test_evaluation_adds_dollars_not_gpu_seconds():
    led = Ledger(Budget.parse("1gpu-h"), CPU)
    led.charge_evaluation(cpu_seconds=100.0, seconds=120.0)
    # 100 cpu-s * $0.036/h / 3600 = $0.001 on both sides
    assert led.totals.measured_dollars == pytest.approx(0.001) and led.totals.modelled_dollars == pytest.approx(0.001)
    assert led.spent_in(BudgetUnit.GPU_SECONDS) == 0.0
    assert led.spent_in(BudgetUnit.DOLLARS) == pytest.approx(0.001)


def test_price_as_decides_checked_side():
    # measured: 10 s on CPU at $0.0001/s = $0.001; modelled on GPU: MODEL_S * $0.001/s
    with_price_as = Ledger(Budget.parse("$1"), CPU, modelled_hw=GPU)
    without = Ledger(Budget.parse("$1"), CPU)
    for led in (with_price_as, without):
        led.charge_sample(100, 2, 10.0, Spec())
    assert with_price_as.checked_side == "modelled"
    assert with_price_as.spent() == pytest.approx(MODEL_S * 0.001)
    assert without.checked_side == "measured"
    assert without.spent() == pytest.approx(0.001)


def test_stops_within_one_sample_of_budget():
    # each sample: 10 s measured on CPU -> 10 gpu-s; budget 95 gpu-s -> 9 samples (90), a 10th would reach 100
    led = Ledger(Budget.parse("95gpu-s"), CPU)
    n = 0
    while not led.would_exceed():
        led.charge_sample(100, 2, 10.0, Spec())
        n += 1
    assert n == 9 and led.spent() == 90.0 and led.remaining() == 5.0 and not led.exhausted()
    assert led.would_exceed(in_flight=0) and not led.would_exceed(next_sample_estimate=5.0)
    assert 95.0 - led.spent() < 10.0               # within one sample's cost


def test_in_flight_samples_count():
    led = Ledger(Budget.parse("100-samples"), CPU)
    for _ in range(97):
        led.charge_sample(1, 1, 0.1, Spec())
    # 97 + (2 in flight + 1) = 100 is not > 100; with 3 in flight 101 > 100
    assert not led.would_exceed(in_flight=2) and led.would_exceed(in_flight=3)


def test_exhausted_and_wall_budget():
    led = Ledger(Budget.parse("30m"), CPU)
    led.note_elapsed(1799.0)
    assert not led.exhausted() and led.remaining() == 1.0
    led.note_elapsed(1800.0)
    assert led.exhausted() and led.remaining() == 0.0


def test_resume_does_not_double_count():
    one = Ledger(Budget.parse("200k-tokens"), CPU, modelled_hw=GPU)
    one.charge_sample(100, 2, 10.0, Spec())
    one.charge_evaluation(5.0, 6.0)
    one.note_elapsed(100.0)
    saved = one.to_dict()
    back = Ledger.from_dict(saved, TABLE)
    assert back.totals == one.totals and back.to_dict() == saved
    back.charge_sample(100, 2, 10.0, Spec())
    back.note_elapsed(50.0)                      # second session, 50 s in: 100 + 50
    assert back.totals.samples == 2 and back.totals.tokens == 204
    assert back.totals.wall_seconds == 150.0
    assert back.totals.measured_gpu_seconds == 20.0
    assert back.totals.modelled_gpu_seconds == pytest.approx(2 * MODEL_S)


def test_rebuilt_ledger_carries_earlier_wall_time():
    led = Ledger(Budget.parse("2h"), CPU)
    led.carry_wall_seconds(3000.0)
    assert led.totals.wall_seconds == 3000.0
    led.note_elapsed(600.0)                      # 3000 + 600 = 3600 of 7200
    assert led.remaining() == 3600.0


def test_unbounded_ledger_never_stops():
    led = Ledger(None, CPU)
    led.charge_sample(100, 2, 10.0, Spec())
    assert not led.would_exceed() and not led.exhausted() and led.remaining() == float("inf")


def test_negative_charge_message():
    with pytest.raises(BudgetError, match=r"^sample charge needs tokens and seconds >= 0, got 1, 1, -1.0$"):
        Ledger(None, CPU).charge_sample(1, 1, -1.0, Spec())


def test_shipped_profiles_price_a_cpu_run_as_h100():
    table = hardware.load_hardware()
    led = Ledger(Budget.parse("$5"), table.get("cpu"), modelled_hw=table.get("h100"))
    ch = led.charge_sample(225, 53, 4.0, Spec(bytes_per_param={"bf16": 2.0}))
    # measured: 4 s * $0.10/h / 3600
    assert ch.measured_dollars == pytest.approx(4 * 0.10 / 3600)
    assert ch.modelled_seconds < 1.0 and ch.modelled_dollars == pytest.approx(ch.modelled_gpu_seconds * 3.0 / 3600)
