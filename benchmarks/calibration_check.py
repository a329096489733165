"""Calibrate the cost model on this CPU and check it on held-out samples, per model size.

    python benchmarks/calibration_check.py [--sizes small,mid] [--samples 8]

For each size: one real run (llama.cpp, bin packing) to fit the prefill/decode utilisation factors,
a second run with another seed to test them. Prints, per size, the mean absolute relative error of
the predicted seconds per sample and the error on the run's total, with the uncalibrated defaults
beside the calibrated figures. The issue's target: within 20 % after calibration.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from funsearch.config import make_config
from funsearch.cost.calibrate import calibrate_from_rows
from funsearch.cost.hardware import default_calibration, load_hardware
from funsearch.cost.roofline import sample_cost
from funsearch.orchestrator import run_search
from funsearch.store.run_store import RunStore
from funsearch.weights.registry import resolve_model

ROOT = Path(__file__).resolve().parent.parent


def rows_of(run_dir: Path) -> list[tuple[str, int, int, float]]:
    store = RunStore(run_dir)
    try:
        return [(r["model"], r["prompt_tokens"] - (r["cached_tokens"] or 0), r["completion_tokens"],
                 r["busy_seconds"] or r["seconds"])
                for r in store.samples() if (r["completion_tokens"] or 0) > 0]
    finally:
        store.close()


def errors(rows, spec, hw, calibration) -> tuple[float, float]:
    predicted = [sample_cost(spec, hw, p, c, calibration=calibration).seconds for _, p, c, _ in rows]
    measured = [s for *_, s in rows]
    per_sample = sum(abs(a - b) / b for a, b in zip(predicted, measured)) / len(rows)
    total = (sum(predicted) - sum(measured)) / sum(measured)
    return per_sample, total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="small,mid")
    ap.add_argument("--samples", type=int, default=8)
    args = ap.parse_args()
    hw = load_hardware().get("cpu")
    out = Path(tempfile.mkdtemp(prefix="funsearch-calibration-"))
    print(f"{'size':>6} {'fit n':>6} {'test n':>6} {'prefill util':>12} {'decode util':>11} "
          f"{'default err/sample':>18} {'calibrated err/sample':>21} {'calibrated err total':>20}")
    for size in args.sizes.split(","):
        spec = resolve_model(size)
        runs = []
        for seed in (101, 202):
            cfg = make_config(problem=str(ROOT / "problems" / "bin_packing.py"), model_sizes=size,
                              samples=args.samples, seed=seed, islands=2)
            run_search(cfg, out / f"{size}-{seed}", echo=lambda line: None)
            runs.append(rows_of(out / f"{size}-{seed}"))
        fit, test = runs
        cal = calibrate_from_rows(fit, {size: spec}, hw, "llamacpp")
        util = cal.for_model(size)
        default_err, _ = errors(test, spec, hw, default_calibration("llamacpp", hw))
        cal_err, cal_total = errors(test, spec, hw, cal)
        print(f"{size:>6} {len(fit):>6} {len(test):>6} {util.prefill:>12.3f} {util.decode:>11.3f} "
              f"{100 * default_err:>17.1f}% {100 * cal_err:>20.1f}% {100 * cal_total:>+19.1f}%")
    print(f"runs kept under {out}")


if __name__ == "__main__":
    main()
