"""Fit the cost model's utilisation factors to measured samples.

For a sample with p prompt and c completion tokens the model predicts
  seconds = P(p) / u_p + D(p, c) / u_d
where P and D are the prefill and decode times at utilisation 1 (cost/roofline.py). That is linear in
a = 1/u_p and b = 1/u_d, so the fit is least squares on relative errors: minimise
  sum_i ((a P_i + b D_i - s_i) / s_i)^2
(relative, so long and short samples count alike; the acceptance test is "within 20 %").
The fit is pure; `save_calibration`/`load_calibration` are the only I/O (JSON).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from funsearch.cost.hardware import Calibration, HardwareProfile, Utilisation
from funsearch.cost.roofline import ModelLike, sample_cost

MIN_SAMPLES_PER_MODEL = 5   # fewer measured samples of a model: it uses the all-model factors
ONE = Utilisation(1.0, 1.0)


class CalibrationError(ValueError):
    """Measured samples cannot be fitted (too few, not separable, unknown model). One-line message."""


def _basis(spec: ModelLike, hw: HardwareProfile, prompt_tokens: int, completion_tokens: int,
           quant: str | None) -> tuple[float, float]:
    unit = Calibration(backend="", hardware=hw.name, default=ONE)
    c = sample_cost(spec, hw, prompt_tokens, completion_tokens, quant=quant, calibration=unit)
    return c.prefill_seconds, c.decode_seconds


def _solve(basis: Sequence[tuple[float, float]], seconds: Sequence[float], label: str) -> tuple[Utilisation, float]:
    if len(seconds) < 2:
        raise CalibrationError(f"cannot fit utilisation for {label}: need at least 2 samples, got {len(seconds)}")
    s = np.asarray(seconds, dtype=float)
    if np.any(s <= 0):
        raise CalibrationError(f"cannot fit utilisation for {label}: every sample needs seconds > 0")
    a = np.asarray(basis, dtype=float) / s[:, None]
    if np.linalg.matrix_rank(a, tol=1e-9 * float(np.abs(a).max() or 1.0)) < 2:
        raise CalibrationError(f"cannot fit utilisation for {label}: the samples do not separate prompt from "
                               f"completion time (vary the completion lengths)")
    (inv_p, inv_d), *_ = np.linalg.lstsq(a, np.ones(len(s)), rcond=None)
    if inv_p <= 0 or inv_d <= 0:
        raise CalibrationError(f"cannot fit utilisation for {label}: the fit gave a non-positive time per token "
                               f"(prefill {inv_p:.3g}, decode {inv_d:.3g}); measure more varied samples")
    residual = a @ np.array([inv_p, inv_d]) - 1.0
    return Utilisation(prefill=float(1 / inv_p), decode=float(1 / inv_d)), float(math.sqrt(np.mean(residual ** 2)))


def fit_utilisation(spec: ModelLike, hw: HardwareProfile, samples: Iterable[tuple[int, int, float]],
                    quant: str | None = None) -> tuple[Utilisation, float]:
    """Fit (u_p, u_d) of one model from [(prompt_tokens, completion_tokens, seconds)]; also the relative RMSE."""
    rows = list(samples)
    basis = [_basis(spec, hw, p, c, quant) for p, c, _ in rows]
    return _solve(basis, [s for *_, s in rows], f"model {spec.name!r}")


def calibrate_from_rows(rows: Iterable[tuple[str, int, int, float]], specs: Mapping[str, ModelLike],
                        hw: HardwareProfile, backend: str, quant: str | None = None) -> Calibration:
    """A Calibration from store rows (model, prompt_tokens, completion_tokens, seconds) of one backend+hardware.

    `default` is fitted on all rows together; a model with >= MIN_SAMPLES_PER_MODEL rows whose own fit
    succeeds also gets its own factors in `models`. Rows with completion_tokens <= 0 are skipped.
    """
    rows = [(m, int(p), int(c), float(s)) for m, p, c, s in rows if int(c) > 0]
    unknown = sorted({m for m, *_ in rows} - set(specs))
    if unknown:
        raise CalibrationError(f"cannot calibrate: unknown model(s) {', '.join(unknown)}; known: "
                               f"{', '.join(sorted(specs))}")
    basis = [_basis(specs[m], hw, p, c, quant) for m, p, c, _ in rows]
    default, rmse = _solve(basis, [s for *_, s in rows], f"{backend} on {hw.name}")
    models = {}
    for name in sorted({m for m, *_ in rows}):
        idx = [i for i, r in enumerate(rows) if r[0] == name]
        if len(idx) < MIN_SAMPLES_PER_MODEL:
            continue
        try:
            models[name], _ = _solve([basis[i] for i in idx], [rows[i][3] for i in idx], f"model {name!r}")
        except CalibrationError:
            continue
    return Calibration(backend=backend, hardware=hw.name, default=default, models=models,
                       samples=len(rows), rel_rmse=rmse)


def calibration_to_dict(cal: Calibration) -> dict:
    return {"backend": cal.backend, "hardware": cal.hardware,
            "default": {"prefill": cal.default.prefill, "decode": cal.default.decode},
            "models": {k: {"prefill": u.prefill, "decode": u.decode} for k, u in sorted(cal.models.items())},
            "samples": cal.samples, "rel_rmse": cal.rel_rmse}


def calibration_from_dict(data: Mapping) -> Calibration:
    try:
        return Calibration(
            backend=str(data["backend"]), hardware=str(data["hardware"]),
            default=Utilisation(float(data["default"]["prefill"]), float(data["default"]["decode"])),
            models={k: Utilisation(float(v["prefill"]), float(v["decode"])) for k, v in data.get("models", {}).items()},
            samples=int(data.get("samples", 0)), rel_rmse=float(data.get("rel_rmse", 0.0)))
    except (KeyError, TypeError) as e:
        raise CalibrationError(f"calibration data lacks field {e.args[0]!r}") from None


def save_calibration(cal: Calibration, path: str | Path) -> None:
    Path(path).write_text(json.dumps(calibration_to_dict(cal), indent=2) + "\n")


def load_calibration(path: str | Path) -> Calibration:
    return calibration_from_dict(json.loads(Path(path).read_text()))
