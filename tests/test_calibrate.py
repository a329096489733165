"""Calibration: recover known utilisation factors from synthetic measured samples."""
from dataclasses import dataclass

import numpy as np
import pytest

from funsearch.cost import calibrate, hardware
from funsearch.cost.calibrate import CalibrationError, calibrate_from_rows, fit_utilisation
from funsearch.cost.hardware import Calibration, Utilisation
from funsearch.cost.roofline import sample_cost


@dataclass(frozen=True)
class Spec:
    name: str
    params_b: float
    layers: int
    kv_heads: int
    head_dim: int
    context: int
    bytes_per_param: dict


SMALL = Spec("small", 0.494, 24, 2, 64, 32768, {"q4_k_m": 0.9947})
MID = Spec("mid", 1.544, 28, 2, 128, 32768, {"q4_k_m": 0.7238})
CPU = hardware.load_hardware().get("cpu")


def synth(spec, util, n, seed, noise=0.02):
    """Samples whose seconds are the model's prediction under `util`, times (1 + N(0, noise))."""
    rng = np.random.default_rng(seed)
    cal = Calibration("llamacpp", "cpu", util)
    rows = []
    for _ in range(n):
        p, c = int(rng.integers(150, 450)), int(rng.integers(20, 400))
        s = sample_cost(spec, CPU, p, c, calibration=cal).seconds * (1 + rng.normal(0, noise))
        rows.append((p, c, s))
    return rows


def test_fit_recovers_known_factors():
    u, rmse = fit_utilisation(SMALL, CPU, synth(SMALL, Utilisation(0.8, 0.9), 60, seed=1))
    assert u.prefill == pytest.approx(0.8, rel=0.05)
    assert u.decode == pytest.approx(0.9, rel=0.05)
    assert rmse < 0.03          # the 2 % noise, not a bias


def test_fit_is_exact_without_noise():
    u, rmse = fit_utilisation(MID, CPU, synth(MID, Utilisation(1.3, 1.17), 10, seed=2, noise=0.0))
    assert (u.prefill, u.decode) == (pytest.approx(1.3, rel=1e-9), pytest.approx(1.17, rel=1e-9))
    assert rmse < 1e-9


def test_per_model_factors_and_joint_default():
    rows = [("small", *r) for r in synth(SMALL, Utilisation(0.8, 0.9), 30, seed=3)]
    rows += [("mid", *r) for r in synth(MID, Utilisation(1.3, 1.2), 30, seed=4)]
    rows += [("mid", 200, 0, 1.0)]                     # no completion: skipped
    cal = calibrate_from_rows(rows, {"small": SMALL, "mid": MID}, CPU, "llamacpp")
    assert cal.samples == 60 and (cal.backend, cal.hardware) == ("llamacpp", "cpu")
    assert cal.for_model("small").decode == pytest.approx(0.9, rel=0.05)
    assert cal.for_model("mid").decode == pytest.approx(1.2, rel=0.05)
    assert cal.for_model("mid").prefill == pytest.approx(1.3, rel=0.05)
    # the joint fit lies between the two models' factors
    assert 0.9 < cal.default.decode < 1.2
    assert cal.for_model("tiny") == cal.default


def test_model_with_few_rows_uses_default():
    rows = [("small", *r) for r in synth(SMALL, Utilisation(0.8, 0.9), 20, seed=5)]
    rows += [("mid", *r) for r in synth(MID, Utilisation(1.3, 1.2), 4, seed=6)]   # 4 < MIN_SAMPLES_PER_MODEL
    cal = calibrate_from_rows(rows, {"small": SMALL, "mid": MID}, CPU, "llamacpp")
    assert set(cal.models) == {"small"}


def test_unseparable_samples_message():
    with pytest.raises(CalibrationError, match=r"^cannot fit utilisation for model 'small': the samples do not "
                                               r"separate prompt from completion time \(vary the completion lengths\)$"):
        fit_utilisation(SMALL, CPU, [(200, 50, 3.0), (200, 50, 3.1), (200, 50, 2.9)])
    with pytest.raises(CalibrationError, match=r"^cannot fit utilisation for model 'small': need at least 2 "
                                               r"samples, got 1$"):
        fit_utilisation(SMALL, CPU, [(200, 50, 3.0)])


def test_unknown_model_message():
    with pytest.raises(CalibrationError, match=r"^cannot calibrate: unknown model\(s\) xl; known: small$"):
        calibrate_from_rows([("xl", 1, 2, 3.0)], {"small": SMALL}, CPU, "llamacpp")


def test_save_and_load_roundtrip(tmp_path):
    cal = Calibration("llamacpp", "cpu", Utilisation(0.8, 0.9), {"mid": Utilisation(1.3, 1.2)}, samples=7,
                      rel_rmse=0.04)
    calibrate.save_calibration(cal, tmp_path / "c.json")
    assert calibrate.load_calibration(tmp_path / "c.json") == cal


def test_calibrate_run_dir_from_sqlite(tmp_path):
    """`funsearch cost --calibrate RUN_DIR` reads run.sqlite's samples and writes a calibration per backend+hardware."""
    import sqlite3

    from funsearch.cli.cost import calibrate_run

    rows = [("small", "llamacpp", "cpu", *r) for r in synth(SMALL, Utilisation(0.8, 0.9), 12, seed=8)]
    con = sqlite3.connect(tmp_path / "run.sqlite")
    con.execute("CREATE TABLE samples (model TEXT, backend TEXT, hardware TEXT, prompt_tokens INTEGER, "
                "completion_tokens INTEGER, seconds REAL, busy_seconds REAL)")
    con.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)", [(*r, r[-1]) for r in rows])
    con.commit()
    con.close()
    (cal,) = calibrate_run(tmp_path)
    assert cal.for_model("small").decode == pytest.approx(0.9, rel=0.05)
    assert calibrate.load_calibration(tmp_path / "calibration-llamacpp-cpu.json") == cal
