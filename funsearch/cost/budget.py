"""Budgets and the ledger that charges every sample and evaluation twice (measured and modelled).

Pure: no I/O, no clock. The orchestrator reports seconds it measured; the ledger prices them.

Which cost a budget is checked against:
  * GPU-seconds and dollar budgets ("2gpu-h", "90gpu-s", "$5", "5usd") are checked against the MODELLED cost on
    the price-as profile when one is given (`Ledger(..., modelled_hw=h100)`, i.e. `--price-as h100`), so a CPU
    run is stopped where the same run on an H100 would have spent the budget. Without price-as they are checked
    against the MEASURED cost (real seconds on the hardware the run used, priced by that profile); the ledger
    still records a modelled cost, on the measured profile.
  * tokens, samples and wall-clock budgets are the same on both sides.
GPU-seconds are busy device-seconds of proposers (for a cpu profile the device is the whole machine);
evaluation is CPU work, so it adds dollars (at cpu_price_per_hour per CPU-second) but no GPU-seconds.
"""
from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass

from funsearch.cost.hardware import Calibration, HardwareProfile, HardwareTable
from funsearch.cost.roofline import ModelLike, evaluation_cost, sample_cost

BUDGET_FORMS = "2gpu-h, 90gpu-s, $5, 5usd, 200k-tokens, 1.5M-tokens, 30m, 2h, 45s, 500-samples"
_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_SCALE = {"": 1, "k": 1e3, "m": 1e6}
_TIME = {"h": 3600, "m": 60, "s": 1}


class BudgetError(ValueError):
    """A budget text or a ledger record is invalid. One-line message."""


class BudgetUnit(str, enum.Enum):
    GPU_SECONDS = "gpu_seconds"
    DOLLARS = "dollars"
    TOKENS = "tokens"
    WALL_SECONDS = "wall_seconds"
    SAMPLES = "samples"


@dataclass(frozen=True)
class Budget:
    """How much a run may spend.

    Attributes:
      unit: what is counted.
      amount: the limit, in `unit` (GPU-seconds, dollars, tokens, wall seconds or samples).
      text: the text it was parsed from ("2gpu-h").
    """

    unit: BudgetUnit
    amount: float
    text: str

    @classmethod
    def parse(cls, text: str) -> "Budget":
        """Parse one of BUDGET_FORMS (case-insensitive; k = thousand, M = million)."""
        t = str(text).strip().lower().replace(" ", "").replace("_", "-")
        rules = [
            (rf"^{_NUM}gpu-?(h|m|s)$", BudgetUnit.GPU_SECONDS, lambda n, u: n * _TIME[u]),
            (rf"^\${_NUM}$", BudgetUnit.DOLLARS, lambda n: n),
            (rf"^{_NUM}usd$", BudgetUnit.DOLLARS, lambda n: n),
            (rf"^{_NUM}(k|m)?-?tokens?$", BudgetUnit.TOKENS, lambda n, k: n * _SCALE[k or ""]),
            (rf"^{_NUM}(h|m|s)$", BudgetUnit.WALL_SECONDS, lambda n, u: n * _TIME[u]),
            (rf"^{_NUM}(k|m)?-?samples?$", BudgetUnit.SAMPLES, lambda n, k: n * _SCALE[k or ""]),
        ]
        for pattern, unit, amount in rules:
            m = re.match(pattern, t)
            if m:
                value = amount(float(m.group(1)), *m.groups()[1:])
                if value <= 0:
                    break
                return cls(unit=unit, amount=value, text=str(text).strip())
        raise BudgetError(f"invalid budget {text!r}; use one of: {BUDGET_FORMS} (amount > 0)")


@dataclass(frozen=True)
class Charge:
    """What one sample or evaluation cost; the store keeps one per sample/evaluation.

    Attributes:
      kind: "sample" or "evaluation".
      tokens: prompt + completion tokens (0 for evaluations).
      measured_seconds: seconds measured (engine busy seconds, or evaluation wall seconds).
      measured_gpu_seconds: measured device-seconds (seconds * devices the engine used; 0 for evaluations).
      measured_dollars: priced by the measured profile (evaluations: CPU-seconds at cpu_price_per_hour).
      modelled_seconds: the cost model's seconds on the modelled profile (evaluations: the measured seconds).
      modelled_gpu_seconds: the cost model's device-seconds there.
      modelled_dollars: priced by the modelled profile.
    """

    kind: str
    tokens: int
    measured_seconds: float
    measured_gpu_seconds: float
    measured_dollars: float
    modelled_seconds: float
    modelled_gpu_seconds: float
    modelled_dollars: float


@dataclass(frozen=True)
class Totals:
    """Running totals of a ledger (both sides).

    Attributes:
      samples: samples charged.
      evaluations: evaluations charged.
      prompt_tokens: prompt tokens charged.
      completion_tokens: completion tokens charged.
      wall_seconds: elapsed run time, all sessions of a resumed run together.
      sample_seconds: measured seconds of all samples.
      evaluation_seconds: measured wall seconds of all evaluations.
      evaluation_cpu_seconds: CPU-seconds of all evaluations.
      evaluation_dollars: evaluations priced (the same on both sides).
      measured_gpu_seconds: measured proposer device-seconds.
      measured_dollars: measured proposer dollars + evaluation_dollars.
      modelled_seconds: modelled proposer seconds.
      modelled_gpu_seconds: modelled proposer device-seconds.
      modelled_dollars: modelled proposer dollars + evaluation_dollars.
    """

    samples: int = 0
    evaluations: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_seconds: float = 0.0
    sample_seconds: float = 0.0
    evaluation_seconds: float = 0.0
    evaluation_cpu_seconds: float = 0.0
    evaluation_dollars: float = 0.0
    measured_gpu_seconds: float = 0.0
    measured_dollars: float = 0.0
    modelled_seconds: float = 0.0
    modelled_gpu_seconds: float = 0.0
    modelled_dollars: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def plus(self, **delta) -> "Totals":
        """These totals with `delta` added field by field."""
        values = asdict(self)
        for k, v in delta.items():
            values[k] += v
        return Totals(**values)

    def spent_in(self, unit: BudgetUnit, side: str) -> float:
        """Spend in `unit` on one side ("measured" or "modelled"): the one definition of spend that ledgers
        check budgets with and that sweeps read budget curves with."""
        return {
            BudgetUnit.GPU_SECONDS: self.modelled_gpu_seconds if side == "modelled" else self.measured_gpu_seconds,
            BudgetUnit.DOLLARS: self.modelled_dollars if side == "modelled" else self.measured_dollars,
            BudgetUnit.TOKENS: float(self.tokens),
            BudgetUnit.WALL_SECONDS: self.wall_seconds,
            BudgetUnit.SAMPLES: float(self.samples),
        }[BudgetUnit(unit)]


class Ledger:
    """Charges samples and evaluations, measured and modelled, and says when the budget is reached.

    Per sample: `charge_sample(usage.prompt_tokens, usage.completion_tokens, usage.busy_seconds, spec)`.
    Per evaluation: `charge_evaluation(result.cpu_seconds, result.seconds)`.
    Elapsed time: `note_elapsed(seconds since this session started)`.
    Before dispatching a sample: stop when `would_exceed(in_flight=k)` (k samples already dispatched).
    """

    def __init__(self, budget: Budget | None, measured_hw: HardwareProfile, modelled_hw: HardwareProfile | None = None,
                 calibration: Calibration | None = None, measured_devices: int = 1, modelled_batch: int = 1,
                 quant: str | None = None, backend: str | None = None) -> None:
        """Args:
          budget: the limit, or None for an unbounded run (everything is still charged).
          measured_hw: profile of the hardware the proposers really ran on (prices measured seconds).
          modelled_hw: the price-as profile; None: model on measured_hw and check budgets against measured cost.
          calibration: utilisation factors for the modelled profile; ignored when its `hardware` differs.
          measured_devices: devices one real engine spans (its seconds count that many times).
          modelled_batch: batch the modelled engine decodes at.
          quant: quantisation priced on the modelled profile (None: cost.choose_quant).
          backend: backend assumed on the modelled profile (None: the usual one for its kind).
        """
        self.budget = budget
        self.measured_hw = measured_hw
        self.modelled_hw = modelled_hw or measured_hw
        self.price_as = modelled_hw is not None
        self.calibration = calibration if calibration and calibration.hardware == self.modelled_hw.name else None
        self.measured_devices = measured_devices
        self.modelled_batch = modelled_batch
        self.quant = quant
        self.backend = backend
        self._totals = Totals()
        self._wall_base = 0.0

    # -- charging -------------------------------------------------------------------------------------------
    def charge_sample(self, prompt_tokens: int, completion_tokens: int, seconds: float,
                      model_spec: ModelLike) -> Charge:
        """Charge one completion: `seconds` is the engine's busy seconds for it (Usage.busy_seconds)."""
        if prompt_tokens < 0 or completion_tokens < 0 or seconds < 0:
            raise BudgetError(f"sample charge needs tokens and seconds >= 0, got {prompt_tokens}, "
                              f"{completion_tokens}, {seconds}")
        gpu_s = seconds * self.measured_devices
        model = sample_cost(model_spec, self.modelled_hw, prompt_tokens, completion_tokens,
                            batch=self.modelled_batch, quant=self.quant, calibration=self.calibration,
                            backend=self.backend)
        charge = Charge("sample", prompt_tokens + completion_tokens, seconds, gpu_s,
                        gpu_s * self.measured_hw.price_per_hour / 3600, model.seconds, model.gpu_seconds, model.dollars)
        self._totals = self._totals.plus(
            samples=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, sample_seconds=seconds,
            measured_gpu_seconds=gpu_s, measured_dollars=charge.measured_dollars, modelled_seconds=model.seconds,
            modelled_gpu_seconds=model.gpu_seconds, modelled_dollars=model.dollars)
        return charge

    def charge_evaluation(self, cpu_seconds: float, seconds: float) -> Charge:
        """Charge one evaluation: EvalResult.cpu_seconds and EvalResult.seconds."""
        if cpu_seconds < 0 or seconds < 0:
            raise BudgetError(f"evaluation charge needs seconds >= 0, got cpu {cpu_seconds}, wall {seconds}")
        dollars = evaluation_cost(cpu_seconds, self.measured_hw)
        self._totals = self._totals.plus(evaluations=1, evaluation_seconds=seconds, evaluation_cpu_seconds=cpu_seconds,
                                         evaluation_dollars=dollars, measured_dollars=dollars, modelled_dollars=dollars)
        return Charge("evaluation", 0, seconds, 0.0, dollars, seconds, 0.0, dollars)

    def carry_wall_seconds(self, earlier_sessions: float) -> None:
        """Wall seconds of earlier sessions of a resumed run (for a ledger rebuilt by re-charging stored rows)."""
        self._wall_base = float(earlier_sessions)
        self.note_elapsed(0.0)

    def note_elapsed(self, session_seconds: float) -> None:
        """Elapsed wall seconds of this session (not a delta); earlier sessions' time is kept from from_dict."""
        self._totals = Totals(**{**asdict(self._totals), "wall_seconds": self._wall_base + session_seconds})

    # -- questions ------------------------------------------------------------------------------------------
    @property
    def totals(self) -> Totals:
        return self._totals

    @property
    def checked_side(self) -> str:
        """"modelled" when a price-as profile was given, else "measured" (for GPU-second and dollar budgets)."""
        return "modelled" if self.price_as else "measured"

    def spent_in(self, unit: BudgetUnit) -> float:
        """Spend so far in `unit`, on the checked side."""
        return self._totals.spent_in(unit, self.checked_side)

    def spent(self) -> float:
        return 0.0 if self.budget is None else self.spent_in(self.budget.unit)

    def remaining(self) -> float:
        """Budget left in its unit (never negative); infinite without a budget."""
        return float("inf") if self.budget is None else max(0.0, self.budget.amount - self.spent())

    def exhausted(self) -> bool:
        return self.budget is not None and self.spent() >= self.budget.amount

    def mean_sample_cost(self) -> float | None:
        """Spend per sample so far in the budget's unit (evaluations included); None before the first sample."""
        if self.budget is None or self._totals.samples == 0:
            return None
        return self.spent() / self._totals.samples

    def would_exceed(self, next_sample_estimate: float | None = None, in_flight: int = 0) -> bool:
        """True when spent + (in_flight + 1) * estimate > budget: do not dispatch another sample.

        `next_sample_estimate` is in the budget's unit; None uses mean_sample_cost() (and before the first
        sample only an already exhausted budget answers True).
        """
        if self.budget is None:
            return False
        est = self.mean_sample_cost() if next_sample_estimate is None else next_sample_estimate
        if est is None:
            return self.exhausted()
        return self.spent() + (in_flight + 1) * est > self.budget.amount

    # -- resume ---------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"budget": None if self.budget is None else self.budget.text,
                "measured_hw": self.measured_hw.name,
                "modelled_hw": self.modelled_hw.name if self.price_as else None,
                "measured_devices": self.measured_devices, "modelled_batch": self.modelled_batch,
                "quant": self.quant, "backend": self.backend, "totals": asdict(self._totals)}

    @classmethod
    def from_dict(cls, data: dict, hardware: HardwareTable, calibration: Calibration | None = None) -> "Ledger":
        """Restore a ledger; its totals are the saved ones (charges after this add to them once)."""
        try:
            ledger = cls(None if data["budget"] is None else Budget.parse(data["budget"]),
                         hardware.get(data["measured_hw"]),
                         None if data["modelled_hw"] is None else hardware.get(data["modelled_hw"]),
                         calibration, int(data["measured_devices"]), int(data["modelled_batch"]),
                         data.get("quant"), data.get("backend"))
            ledger._totals = Totals(**data["totals"])
        except (KeyError, TypeError) as e:
            raise BudgetError(f"ledger data is invalid: {e}") from None
        ledger._wall_base = ledger._totals.wall_seconds
        return ledger
