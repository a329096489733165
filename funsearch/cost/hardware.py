"""Hardware profiles and utilisation calibrations: the inputs of the roofline cost model (roofline.py).

Pure but for `load_hardware`, which reads hardware.toml beside this module. Profiles give each device kind's
peak FLOP/s, bandwidth, memory and price; a `Calibration` gives the fractions of peak a backend reaches
(the documented defaults before any fit, see docs/cost-model.md).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

HARDWARE_FILE = Path(__file__).parent / "hardware.toml"

# (backend, hardware kind) -> (prefill utilisation, decode utilisation) used before any calibration.
# GPU: vLLM typically reaches ~50 % of peak FLOP/s in prefill and ~60 % of bandwidth in small-batch decode;
# llama.cpp on a GPU less. CPU: the cpu profile's figures are already effective (measured), so 1.0.
DEFAULT_UTILISATION: dict[tuple[str, str], tuple[float, float]] = {
    ("vllm", "gpu"): (0.5, 0.6),
    ("llamacpp", "gpu"): (0.3, 0.5),
    ("vllm", "cpu"): (1.0, 1.0),
    ("llamacpp", "cpu"): (1.0, 1.0),
}
DEFAULT_BACKEND = {"gpu": "vllm", "cpu": "llamacpp"}


class CostError(ValueError):
    """A cost question has no answer (unknown hardware, quantisation, model too large). One-line message."""


@dataclass(frozen=True)
class HardwareProfile:
    """One device kind.

    Attributes:
      name: key in hardware.toml ("h100", "cpu", ...).
      display_name: human name.
      kind: "gpu" or "cpu".
      peak_flops: dense bf16 FLOP/s per device (effective for "cpu").
      bandwidth: memory bytes/s per device (effective for "cpu").
      memory_bytes: device memory in bytes.
      price_per_hour: USD per device-hour.
      default_quant: quantisation priced when none is named.
      max_devices: most devices one engine may span.
      cores: CPU cores of the device (cpu profiles; 0 for GPUs).
      cpu_price_per_hour: USD per CPU-core-hour for evaluation (file-level value).
    """

    name: str
    display_name: str
    kind: str
    peak_flops: float
    bandwidth: float
    memory_bytes: float
    price_per_hour: float
    default_quant: str = "bf16"
    max_devices: int = 8
    cores: int = 0
    cpu_price_per_hour: float = 0.0


@dataclass(frozen=True)
class HardwareTable:
    """All profiles of a hardware file.

    Attributes:
      profiles: name -> profile.
      cpu_price_per_hour: USD per CPU-core-hour for evaluation CPU-seconds.
    """

    profiles: Mapping[str, HardwareProfile]
    cpu_price_per_hour: float

    def get(self, name: str) -> HardwareProfile:
        if name not in self.profiles:
            raise CostError(f"unknown hardware {name!r}; known: {', '.join(sorted(self.profiles))}")
        return self.profiles[name]


@dataclass(frozen=True)
class Utilisation:
    """Fractions of peak a backend reaches.

    Attributes:
      prefill: fraction of peak FLOP/s reached while processing the prompt.
      decode: fraction of bandwidth (and of peak FLOP/s when compute-bound) reached while generating.
    """

    prefill: float
    decode: float

    def __post_init__(self) -> None:
        if not (self.prefill > 0 and self.decode > 0):
            raise CostError(f"utilisation must be positive, got prefill={self.prefill} decode={self.decode}")


@dataclass(frozen=True)
class Calibration:
    """Utilisation factors of one backend on one hardware profile.

    Attributes:
      backend: "llamacpp", "vllm", ...
      hardware: hardware profile name.
      default: factors for any model (fitted on all samples, or the documented defaults).
      models: per-model factors (model name -> Utilisation) where a fit per model exists.
      samples: measured samples the fit used; 0 for the documented defaults.
      rel_rmse: root-mean-square relative error of the fit on its samples (0.0 for defaults).
    """

    backend: str
    hardware: str
    default: Utilisation
    models: Mapping[str, Utilisation] = field(default_factory=dict)
    samples: int = 0
    rel_rmse: float = 0.0

    def for_model(self, name: str) -> Utilisation:
        """Per-model factors when fitted, else the all-model ones."""
        return self.models.get(name, self.default)


def parse_hardware(data: Mapping) -> HardwareTable:
    """Validate a parsed hardware.toml into a HardwareTable (pure)."""
    cpu_price = float(data.get("cpu_price_per_hour", 0.0))
    profiles = {}
    for name, p in dict(data.get("profiles", {})).items():
        try:
            profiles[name] = HardwareProfile(
                name=name, display_name=str(p.get("display_name", name)), kind=str(p["kind"]),
                peak_flops=float(p["peak_tflops"]) * 1e12, bandwidth=float(p["bandwidth_gbs"]) * 1e9,
                memory_bytes=float(p["memory_gb"]) * 1e9, price_per_hour=float(p["price_per_hour"]),
                default_quant=str(p.get("default_quant", "bf16")), max_devices=int(p.get("max_devices", 8)),
                cores=int(p.get("cores", 0)), cpu_price_per_hour=cpu_price)
        except KeyError as e:
            raise CostError(f"hardware profile {name!r} lacks field {e.args[0]!r}") from None
        if profiles[name].kind not in ("gpu", "cpu"):
            raise CostError(f"hardware profile {name!r}: kind must be 'gpu' or 'cpu', got {profiles[name].kind!r}")
    if not profiles:
        raise CostError("hardware file defines no [profiles.*]")
    return HardwareTable(profiles=profiles, cpu_price_per_hour=cpu_price)


def load_hardware(path: str | Path | None = None) -> HardwareTable:
    """Read hardware.toml (the module's only I/O)."""
    with open(path or HARDWARE_FILE, "rb") as f:
        return parse_hardware(tomllib.load(f))


def default_calibration(backend: str | None, hw: HardwareProfile) -> Calibration:
    """The documented default utilisation of `backend` (None: the usual one for the hardware kind)."""
    backend = backend or DEFAULT_BACKEND[hw.kind]
    prefill, decode = DEFAULT_UTILISATION.get((backend, hw.kind), DEFAULT_UTILISATION[("vllm", hw.kind)])
    return Calibration(backend=backend, hardware=hw.name, default=Utilisation(prefill, decode))
