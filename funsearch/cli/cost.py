"""`funsearch cost` (predicted and calibrated cost per sample) and `funsearch plan` (proposer/evaluator split).

Edge module: reads the hardware file, the model registry, calibration JSON and a run's measured speeds
(store/history.py); the arithmetic lives in cost/ (roofline, calibrate, planner, budget).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from funsearch.cli.output import fail


def _specs(sizes: str) -> list:
    from funsearch.weights.registry import ModelRegistryError, resolve_model
    try:
        return [resolve_model(s.strip()) for s in sizes.split(",") if s.strip()]
    except ModelRegistryError as exc:
        fail(str(exc))


def calibrate_run(run_dir: Path, out: Path | None = None) -> list:
    """Fit one Calibration per (backend, hardware) found in the run, save each, return them."""
    from funsearch.cost.calibrate import CalibrationError, calibrate_from_rows, save_calibration
    from funsearch.cost.hardware import CostError, load_hardware
    from funsearch.store.history import sample_speeds
    from funsearch.store.run_store import StoreError

    try:
        rows = sample_speeds(run_dir)
    except StoreError as exc:
        fail(str(exc))
    if not rows:
        fail(f"{run_dir}: no samples with completion tokens to calibrate from")
    table = load_hardware()
    groups: dict[tuple[str, str], list] = {}
    for model, backend, hardware, p, c, s in rows:
        groups.setdefault((backend or "llamacpp", hardware or "cpu"), []).append((model, p, c, s))
    cals = []
    for (backend, hardware), group in sorted(groups.items()):
        try:
            specs = {s.name: s for s in _specs(",".join(sorted({m for m, *_ in group})))}
            cal = calibrate_from_rows(group, specs, table.get(hardware), backend)
        except (CalibrationError, CostError) as exc:
            fail(str(exc))
        path = out if (out and len(groups) == 1) else Path(run_dir) / f"calibration-{backend}-{hardware}.json"
        save_calibration(cal, path)
        typer.echo(f"calibration {backend} on {hardware}: {cal.samples} samples, prefill util "
                   f"{cal.default.prefill:.3f}, decode util {cal.default.decode:.3f}, rel. RMSE "
                   f"{cal.rel_rmse:.1%} -> {path}")
        _print_measured_vs_predicted(group, specs, table.get(hardware), cal)
        cals.append(cal)
    return cals


def _print_measured_vs_predicted(rows, specs, hw, cal) -> None:
    from funsearch.cost.hardware import default_calibration
    from funsearch.cost.roofline import sample_cost

    default = default_calibration(cal.backend, hw)
    typer.echo(f"{'model':<8} {'n':>5} {'measured s':>11} {'default s':>10} {'calibrated s':>13} {'error':>7}")
    for name in sorted(specs):
        mine = [r for r in rows if r[0] == name]
        measured = sum(r[3] for r in mine) / len(mine)
        pre = [sample_cost(specs[name], hw, p, c, calibration=default).seconds for _, p, c, _ in mine]
        cal_s = [sample_cost(specs[name], hw, p, c, calibration=cal).seconds for _, p, c, _ in mine]
        mean_cal = sum(cal_s) / len(mine)
        typer.echo(f"{name:<8} {len(mine):>5} {measured:>11.3f} {sum(pre) / len(mine):>10.3f} {mean_cal:>13.3f} "
                   f"{(mean_cal - measured) / measured:>+7.1%}")


def cost_cmd(
    model_size: str = typer.Option("small", "--model-size", help="size(s) from models/*.toml, comma-separated"),
    hardware: str = typer.Option("cpu", "--hardware", help="hardware profile (funsearch/data/hardware.toml)"),
    prompt_tokens: int = typer.Option(250, "--prompt-tokens"),
    completion_tokens: int = typer.Option(80, "--completion-tokens"),
    batch: int = typer.Option(1, "--batch", help="sequences decoded together"),
    quant: Optional[str] = typer.Option(None, "--quant", help="quantisation (default: the profile's)"),
    backend: Optional[str] = typer.Option(None, "--backend", help="llamacpp | vllm (default: by hardware kind)"),
    eval_seconds: float = typer.Option(0.0, "--eval-seconds", help="CPU-seconds of evaluation per sample"),
    calibration: Optional[Path] = typer.Option(None, "--calibration", help="calibration JSON to compare with"),
    calibrate: Optional[Path] = typer.Option(None, "--calibrate", help="fit utilisation from RUN_DIR's samples"),
    out: Optional[Path] = typer.Option(None, "--out", help="where --calibrate writes its JSON"),
) -> None:
    """Predicted seconds per sample, samples per device-hour and cost per 1,000 samples."""
    from funsearch.cost.calibrate import CalibrationError, load_calibration
    from funsearch.cost.hardware import CostError, default_calibration, load_hardware
    from funsearch.cost.roofline import (
        choose_quant,
        cost_per_1000_samples,
        evaluation_cost,
        sample_cost,
        samples_per_hour,
    )

    if calibrate is not None:
        calibrate_run(calibrate, out)
        return
    table = load_hardware()
    try:
        hw = table.get(hardware)
        cals = [("model", default_calibration(backend, hw))]
        if calibration is not None:
            cal = load_calibration(calibration)
            if cal.hardware != hw.name:
                fail(f"{calibration} calibrates {cal.hardware}, not {hw.name}")
            cals.append(("calibrated", cal))
        typer.echo(f"{hw.display_name}: {prompt_tokens} prompt + {completion_tokens} completion tokens, batch {batch}")
        typer.echo(f"{'model':<8} {'figures':<11} {'quant':<7} {'dev':>3} {'s/sample':>9} {'samples/dev-h':>14} "
                   f"{'$/1000':>9}")
        ev = evaluation_cost(eval_seconds, hw)
        for spec in _specs(model_size):
            for label, cal in cals:
                c = sample_cost(spec, hw, prompt_tokens, completion_tokens, batch=batch, quant=quant,
                                calibration=cal, backend=backend)
                typer.echo(f"{spec.name:<8} {label:<11} {choose_quant(spec, hw, quant):<7} {c.devices:>3} "
                           f"{c.seconds / batch:>9.3f} {samples_per_hour(c):>14.0f} "
                           f"{cost_per_1000_samples(c, ev):>9.4f}")
    except (CostError, CalibrationError, OSError) as exc:
        fail(str(exc))


def plan_cmd(
    problem: Path = typer.Argument(..., help="problem file (its baseline is timed when --eval-seconds is not given)"),
    model_size: str = typer.Option("small", "--model-size", help="size(s), comma-separated for a pool"),
    hardware: str = typer.Option("cpu", "--hardware"),
    budget: Optional[str] = typer.Option(None, "--budget", help="2gpu-h | $5 | 200k-tokens | 30m | 500-samples"),
    eval_seconds: Optional[float] = typer.Option(None, "--eval-seconds", help="seconds per evaluation"),
    gpus: int = typer.Option(1, "--gpus", help="GPUs available (ignored for a cpu profile)"),
    cpus: Optional[int] = typer.Option(None, "--cpus", help="CPU cores available (default: this machine's)"),
    prompt_tokens: int = typer.Option(250, "--prompt-tokens"),
    completion_tokens: int = typer.Option(80, "--completion-tokens"),
    batch: int = typer.Option(1, "--batch"),
    eval_fraction: float = typer.Option(1.0, "--eval-fraction", help="share of samples that reach evaluation"),
    calibration: Optional[Path] = typer.Option(None, "--calibration", help="calibration JSON for this hardware"),
) -> None:
    """Recommend proposers per size and evaluators for a budget; print both sides' utilisation."""
    import os

    from funsearch.cost.budget import Budget, BudgetError
    from funsearch.cost.calibrate import CalibrationError, load_calibration
    from funsearch.cost.hardware import CostError, load_hardware
    from funsearch.cost.planner import recommend_split

    try:
        hw = load_hardware().get(hardware)
        b = Budget.parse(budget) if budget else None
        cal = load_calibration(calibration) if calibration else None
        if eval_seconds is None:
            eval_seconds = _time_baseline(problem)
        split = recommend_split(_specs(model_size), hw, gpus=gpus, cpus=cpus or os.cpu_count() or 1,
                                eval_seconds=eval_seconds, budget=b, prompt_tokens=prompt_tokens,
                                completion_tokens=completion_tokens, batch=batch, calibration=cal,
                                eval_fraction=eval_fraction)
    except (CostError, BudgetError, CalibrationError, OSError) as exc:
        fail(str(exc))
    bal = split.balance
    engines = ", ".join(f"{k} x{v}" for k, v in split.proposers.items())
    typer.echo(f"proposers: {engines} on {split.devices} {'cores' if hw.kind == 'cpu' else hw.name}")
    typer.echo(f"evaluators: {split.evaluators}" + (" (alternating with the proposers on the same cores)"
                                                     if bal.shared_cores else "") + f"  ({eval_seconds:.3f} s each)")
    typer.echo(f"throughput: {bal.samples_per_second * 3600:.0f} samples/h; proposer utilisation "
               f"{bal.proposer_utilisation:.1%}, evaluator utilisation {bal.evaluator_utilisation:.1%}")
    typer.echo(f"in flight: {split.in_flight} prompt(s) per engine (--in-flight: one batch of {batch}, or what "
               f"Little's law asks where more; two batches at most)")
    if b is not None:
        typer.echo(f"budget {b.text}: {split.cost_per_sample:.4g} {b.unit.value} per sample -> "
                   f"{split.expected_samples} samples in {split.hours:.2f} h")


def _time_baseline(problem: Path) -> float:
    from funsearch.problem.evaluator import Evaluator
    from funsearch.problem.loader import ProblemError, load_problem

    try:
        p = load_problem(problem)
        with Evaluator(p) as evaluator:
            evaluator.evaluate(p.baseline_source, p.train_split)  # warm: the split reaches the fork server
            result = evaluator.evaluate(p.baseline_source, p.train_split)
    except ProblemError as exc:
        fail(str(exc))
    typer.echo(f"baseline evaluation on {p.train_split}: {result.seconds:.3f} s (use --eval-seconds to override)")
    return result.seconds


def register(app: typer.Typer) -> None:
    app.command("cost")(cost_cmd)
    app.command("plan")(plan_cmd)
