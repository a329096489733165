"""Roofline cost model: a proposer size on a hardware profile -> seconds, device-seconds and dollars per sample.

Pure. Hardware profiles, calibrations and their loading live in cost/hardware.py.
Equations (docs/cost-model.md):

  prefill      = 2 N p / (F d u_p)                               compute-bound, per prompt
  decode step  = max((W + b K ctx) / (B d u_d), 2 N b / (F d u_d))  ctx = p + t at step t = 0..c-1
  KV per token K = layers * kv_heads * head_dim * 2 (K and V) * kv_bytes
  W = N * bytes_per_param[quant]

with N parameters, p prompt and c completion tokens, b the batch, F peak FLOP/s and B bandwidth per device,
d devices, u_p / u_d the utilisation factors of a `Calibration`. A batch of b samples takes
b * prefill + sum of decode steps; each sample is charged d * that / b device-seconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Protocol

from funsearch.cost.hardware import (
    Calibration,
    CostError,
    HardwareProfile,
    HardwareTable,
    Utilisation,
    default_calibration,
)

USABLE_MEMORY_FRACTION = 0.9   # vLLM's default gpu_memory_utilization: the rest is activations and runtime
KV_BYTES = 2.0                 # f16/bf16 KV cache, the default of both vLLM and llama.cpp


class ModelLike(Protocol):
    """What the cost model reads from a model spec (weights.registry.ModelSpec satisfies it)."""

    @property
    def name(self) -> str: ...
    @property
    def params_b(self) -> float: ...
    @property
    def layers(self) -> int: ...
    @property
    def kv_heads(self) -> int: ...
    @property
    def head_dim(self) -> int: ...
    @property
    def context(self) -> int: ...
    @property
    def bytes_per_param(self) -> Mapping[str, float]: ...


@dataclass(frozen=True)
class SampleCost:
    """Predicted cost of one sample.

    Attributes:
      seconds: wall seconds of the sample's batch (prefill of every prompt in it plus all decode steps).
      gpu_seconds: device-seconds charged to this sample (devices * seconds / batch); for a cpu profile the
        device is the whole machine.
      dollars: gpu_seconds priced at the profile's price_per_hour.
      tokens: prompt + completion tokens.
      devices: devices one engine needs for this model (see devices_needed).
      batch: sequences decoded together.
      prefill_seconds: the batch's prefill part of `seconds`.
      decode_seconds: the batch's decode part of `seconds`.
    """

    seconds: float
    gpu_seconds: float
    dollars: float
    tokens: int
    devices: int = 1
    batch: int = 1
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0


def kv_bytes_per_token(spec: ModelLike, kv_bytes: float = KV_BYTES) -> float:
    """layers * kv_heads * head_dim * 2 (K and V) * kv_bytes."""
    return spec.layers * spec.kv_heads * spec.head_dim * 2 * kv_bytes


def weight_bytes(spec: ModelLike, quant: str) -> float:
    if quant not in spec.bytes_per_param:
        raise CostError(f"model {spec.name!r} has no quantisation {quant!r}; it has: "
                        f"{', '.join(sorted(spec.bytes_per_param))}")
    return spec.params_b * 1e9 * spec.bytes_per_param[quant]


def choose_quant(spec: ModelLike, hw: HardwareProfile, quant: str | None = None) -> str:
    """`quant` when given; else hw.default_quant when the model has it; else the model's smallest one."""
    if quant:
        return quant
    if hw.default_quant in spec.bytes_per_param:
        return hw.default_quant
    return min(spec.bytes_per_param, key=lambda q: (spec.bytes_per_param[q], q))


def devices_needed(spec: ModelLike, hw: HardwareProfile, quant: str, batch: int = 1,
                   sequence_tokens: int = 0, kv_bytes: float = KV_BYTES) -> int:
    """Smallest power of two d with W + KV_reserve <= d * memory * USABLE_MEMORY_FRACTION.

    KV_reserve = kv_bytes_per_token * max(spec.context, batch * sequence_tokens): an engine must hold one
    full-context sequence (vLLM refuses to start otherwise) and the whole batch. Powers of two because
    tensor parallelism must divide the attention heads. E.g. Qwen2.5-32B bf16 on H100: 65.5 GB weights +
    8.6 GB KV (32,768 tokens * 256 KiB) = 74.1 GB > 72 GB usable -> 2 GPUs; on H200 (126.9 GB usable) -> 1.
    """
    need = weight_bytes(spec, quant) + kv_bytes_per_token(spec, kv_bytes) * max(spec.context, batch * sequence_tokens)
    usable = hw.memory_bytes * USABLE_MEMORY_FRACTION
    d = 1
    while d * usable < need:
        d *= 2
        if d > hw.max_devices:
            raise CostError(f"model {spec.name!r} ({quant}) needs {need / 1e9:.1f} GB but {hw.max_devices} x "
                            f"{hw.name} hold {hw.max_devices * usable / 1e9:.1f} GB usable")
    return d


def prefill_seconds(spec: ModelLike, hw: HardwareProfile, prompt_tokens: int, util: Utilisation,
                    devices: int = 1) -> float:
    """2 N p / (peak * devices * u_p) for one prompt."""
    return 2 * spec.params_b * 1e9 * prompt_tokens / (hw.peak_flops * devices * util.prefill)


def decode_seconds(spec: ModelLike, hw: HardwareProfile, prompt_tokens: int, completion_tokens: int,
                   quant: str, util: Utilisation, batch: int = 1, devices: int = 1,
                   kv_bytes: float = KV_BYTES) -> float:
    """Sum over steps t = 0..c-1 of max(memory(t), compute), closed form.

    memory(t) = (W + b K (p + t)) / (B d u_d) = m0 + m1 t; compute = 2 N b / (F d u_d).
    The k first steps (memory(t) < compute) cost `compute`; the rest form an arithmetic series.
    """
    c = completion_tokens
    if c <= 0:
        return 0.0
    bw = hw.bandwidth * devices * util.decode
    m0 = (weight_bytes(spec, quant) + batch * kv_bytes_per_token(spec, kv_bytes) * prompt_tokens) / bw
    m1 = batch * kv_bytes_per_token(spec, kv_bytes) / bw
    compute = 2 * spec.params_b * 1e9 * batch / (hw.peak_flops * devices * util.decode)
    if m1 == 0:
        return c * max(m0, compute)
    k = min(c, max(0, math.ceil((compute - m0) / m1)))
    return k * compute + (c - k) * m0 + m1 * (c * (c - 1) / 2 - k * (k - 1) / 2)


def sample_cost(spec: ModelLike, hw: HardwareProfile, prompt_tokens: int, completion_tokens: int,
                batch: int = 1, quant: str | None = None, calibration: Calibration | None = None,
                backend: str | None = None, kv_bytes: float = KV_BYTES) -> SampleCost:
    """Predicted cost of one sample generated in a batch of `batch` on `hw`.

    quant defaults to choose_quant(spec, hw); calibration to default_calibration(backend, hw).
    """
    if batch < 1 or prompt_tokens < 0 or completion_tokens < 0:
        raise CostError(f"need batch >= 1 and token counts >= 0, got batch={batch} prompt={prompt_tokens} "
                        f"completion={completion_tokens}")
    quant = choose_quant(spec, hw, quant)
    util = (calibration or default_calibration(backend, hw)).for_model(spec.name)
    devices = devices_needed(spec, hw, quant, batch, prompt_tokens + completion_tokens, kv_bytes)
    pre = batch * prefill_seconds(spec, hw, prompt_tokens, util, devices)
    dec = decode_seconds(spec, hw, prompt_tokens, completion_tokens, quant, util, batch, devices, kv_bytes)
    seconds = pre + dec
    gpu_seconds = devices * seconds / batch
    return SampleCost(seconds=seconds, gpu_seconds=gpu_seconds, dollars=gpu_seconds * hw.price_per_hour / 3600,
                      tokens=prompt_tokens + completion_tokens, devices=devices, batch=batch,
                      prefill_seconds=pre, decode_seconds=dec)


def evaluation_cost(cpu_seconds: float, hw: HardwareProfile | HardwareTable) -> float:
    """Dollars for `cpu_seconds` of evaluation at the file's cpu_price_per_hour (per core-hour)."""
    return cpu_seconds * hw.cpu_price_per_hour / 3600


def samples_per_hour(cost: SampleCost) -> float:
    """Samples per device-hour (3600 / gpu_seconds); an engine of `devices` devices makes devices times that."""
    return 3600 / cost.gpu_seconds if cost.gpu_seconds > 0 else math.inf


def cost_per_1000_samples(cost: SampleCost, evaluation_dollars: float = 0.0) -> float:
    """Dollars for 1,000 samples, each also paying `evaluation_dollars` of evaluation."""
    return 1000 * (cost.dollars + evaluation_dollars)
