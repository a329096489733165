"""`funsearch run` (evolve a problem's function, resume or replay a run) and `funsearch eval` (judge one file)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from funsearch.cli.output import fail
from funsearch.messages import describe
from funsearch.sandbox.limits import DEFAULT_INSTANCE_SECONDS


def run(
    problem: Optional[Path] = typer.Argument(None, help="problem file (omit with --resume/--replay)"),
    model_size: str = typer.Option("small", "--model-size",
                                   help="size(s) from models/*.toml, comma-separated for a pool"),
    model: Optional[str] = typer.Option(None, "--model",
                                        help="a custom model: .gguf path or HF id (replaces --model-size)"),
    samples: Optional[int] = typer.Option(None, "--samples", help="stop after N samples"),
    budget: Optional[str] = typer.Option(None, "--budget", help="2gpu-h | $5 | 200k-tokens | 30m | 500-samples"),
    price_as: Optional[str] = typer.Option(None, "--price-as", help="hardware profile for modelled cost (h100, ...)"),
    hardware: str = typer.Option("cpu", "--hardware", help="hardware profile the proposers run on"),
    calibration: Optional[str] = typer.Option(None, "--calibration",
                                              help="calibration JSON for the modelled profile (cost --calibrate)"),
    seed: int = typer.Option(0, "--seed"),
    islands: int = typer.Option(10, "--islands"),
    backend: str = typer.Option("llamacpp", "--backend",
                                help="llamacpp | openai | vllm | scripted | simulated (a SIMULATION: recorded "
                                     "completions, roofline latencies; needs --simulated-from)"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible server (backend openai)"),
    api_key_env: Optional[str] = typer.Option(None, "--api-key-env", help="env var with the API key"),
    scripted: Optional[str] = typer.Option(None, "--scripted", "--scripted-file",
                                           help="JSON file: a list of completions (backend scripted)"),
    pool_counts: Optional[str] = typer.Option(None, "--pool-counts", help="actors per size, e.g. 1,2"),
    pool_policy: str = typer.Option("fixed", "--pool-policy", help="fixed | bandit"),
    evaluators: Optional[int] = typer.Option(None, "--evaluators",
                                             help="evaluator actors (default: 1 beside a one-sequence engine, "
                                                  "else sized by the plan within the cluster's CPUs)"),
    in_flight: Optional[int] = typer.Option(None, "--in-flight",
                                            help="prompts per engine drawn and not yet registered (default: 1 for "
                                                 "llama.cpp/scripted, else from the engine batch and the plan)"),
    registration: Optional[str] = typer.Option(None, "--registration",
                                               help="ordered (sample order, deterministic) | async (as results "
                                                    "arrive, order recorded for --replay); default: ordered for "
                                                    "one-sequence engines, async for batched ones"),
    eval_queue: Optional[int] = typer.Option(None, "--eval-queue",
                                             help="programs waiting for an evaluator (plus samples at the engines) "
                                                  "at which proposals pause (default: the window)"),
    engine_batch: Optional[int] = typer.Option(None, "--engine-batch",
                                               help="sequences a batched engine decodes together (default: "
                                                    "the run's modelled_batch when > 1, else 64)"),
    simulated_from: Optional[str] = typer.Option(None, "--simulated-from",
                                                 help="backend simulated: a run directory or JSON list of "
                                                      "completions to replay (latencies: --model-size on "
                                                      "--hardware at --engine-batch)"),
    threads: int = typer.Option(1, "--threads", help="CPU threads per llama.cpp proposer"),
    samples_per_prompt: int = typer.Option(1, "--samples-per-prompt"),
    max_tokens: int = typer.Option(400, "--max-tokens"),
    temperature: float = typer.Option(0.8, "--temperature"),
    eval_timeout: float = typer.Option(10.0, "--eval-timeout",
                                       help="wall seconds per instance before the sandbox kills a candidate"),
    split: Optional[str] = typer.Option(None, "--split", help="split to evolve on (default TRAIN_SPLIT)"),
    mode: str = typer.Option("evolve", "--mode", help="evolve | best_of_n | random_mutation"),
    prompt: Optional[str] = typer.Option(None, "--prompt",
                                         help="classic | edit | idea | mix (default: each size's own, models/*.toml)"),
    steer: bool = typer.Option(True, "--steer/--no-steer", help="sample hotter on an island after a copy"),
    diverge: Optional[bool] = typer.Option(None, "--diverge/--no-diverge",
                                           help="classic prompt: the model may not copy a parent past a random line "
                                                "of it (default: on for evolve runs on llama.cpp)"),
    diverge_lines: str = typer.Option("uniform", "--diverge-lines",
                                      help="where --diverge stops a copy: uniform (a random line of the parent) | "
                                           "learned (lines whose changes gave valid programs, by Thompson "
                                           "sampling; turns --diverge on unless --no-diverge)"),
    cascade_probe: int = typer.Option(3, "--cascade-probe",
                                      help="probe instances evaluated first (no-ops and clear losers stop; 0: off)"),
    cascade_margin: float = typer.Option(0.1, "--cascade-margin",
                                                   help="stop when the probe mean is this fraction below the worst "
                                                        "parent's (negative: only no-ops stop)"),
    parent_helpers: bool = typer.Option(True, "--parent-helpers/--no-parent-helpers",
                                        help="a program calling <name>_vK gets parent K as a helper"),
    heldout: bool = typer.Option(True, "--heldout/--no-heldout",
                                 help="evaluate the best program on the problem's other splits at the end"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster: auto | ray://host:port"),
    out: Path = typer.Option(Path("runs"), "--out", help="parent folder of run directories"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue a stopped run"),
    replay: Optional[Path] = typer.Option(None, "--replay", help="re-run a recorded run from its completions"),
) -> None:
    """Evolve the problem's function with an LLM in the loop."""
    flags = {k: v for k, v in locals().items() if k not in ("resume", "replay", "out", "model", "model_size")}
    flags["model_sizes"] = model or model_size
    from funsearch.config import ConfigError
    from funsearch.problem.loader import ProblemError
    from funsearch.store.run_store import StoreError

    try:
        summary = _start(flags, out, resume, replay)
    except (ConfigError, ProblemError, StoreError) as exc:
        fail(str(exc))
    except typer.Exit:
        raise
    except Exception as exc:  # backends and Ray report here; one line, not a traceback
        fail(describe(exc))
    typer.echo("")
    typer.echo(f"run: {summary.run_dir}  ({summary.samples} samples, stopped: {summary.stop_reason})")
    if summary.best_score is not None:
        metrics = "  ".join(f"{k}={v:.4g}" for k, v in summary.best_metrics.items())
        typer.echo(f"best score {summary.best_score:.6g}  {metrics}")
        typer.echo(summary.best_source or "")
    for split, got in summary.heldout.items():
        shown = "  ".join(f"{k}={v:.4g}" for k, v in got["metrics"].items()) if got["valid"] else \
            f"invalid ({got['failure']}): {got['message']}"
        typer.echo(f"held out {split}: {shown}")


def _start(flags: dict, out: Path, resume: Path | None, replay: Path | None):
    """Resume RUN_DIR, replay RUN_DIR into a new run, or start a new run from the flags."""
    from funsearch.config import RunConfig
    from funsearch.orchestrator import run_search
    from funsearch.orchestrator.session import default_run_dir

    if resume is not None:
        cfg = RunConfig.load(resume / "config.json")
        stops = {k: flags[k] for k in ("samples", "budget") if flags[k]}
        cfg = cfg.model_copy(update=stops) if stops else cfg
        preflight(cfg)
        return run_search(cfg, resume, resume=True)
    if replay is not None:
        cfg = RunConfig.load(replay / "config.json")
        preflight(cfg)
    else:
        cfg = _new_config(flags)
    run_dir = default_run_dir(cfg, out)
    try:
        return run_search(cfg, run_dir, replay_from=replay)
    except BaseException:
        discard_if_empty(run_dir)  # a run that failed before its first sample leaves nothing behind
        raise


def preflight(cfg) -> list:
    """Refuse a run for what can be checked before anything is written or announced: the problem file and the
    split, every model, the budget, the pool counts, the hardware profiles (each error one line). Returns the
    resolved ModelSpec of each size, in cfg.model_sizes' order."""
    from funsearch.cost.budget import Budget
    from funsearch.cost.hardware import load_hardware
    from funsearch.problem.loader import ProblemError, load_problem
    from funsearch.weights.registry import resolve_model

    problem = load_problem(cfg.problem)
    if cfg.split is not None and cfg.split not in problem.splits:
        raise ProblemError(f"unknown split {cfg.split!r}; {problem.name} has {', '.join(problem.splits)}")
    specs = [resolve_model(size) for size in cfg.model_sizes]
    if cfg.budget:
        Budget.parse(cfg.budget)
    cfg.counts()
    table = load_hardware()
    for profile in (cfg.hardware, cfg.price_as):
        if profile:
            table.get(profile)
    return specs


def discard_if_empty(run_dir: Path) -> None:
    """Remove a run directory this command made when it holds no sample (a run that failed on its way up)."""
    import shutil

    from funsearch.store.run_store import RunStore

    if not (Path(run_dir) / "run.sqlite").is_file():
        if Path(run_dir).is_dir() and not any(Path(run_dir).iterdir()):
            Path(run_dir).rmdir()
        return
    try:
        store = RunStore(run_dir)
        try:
            empty = store.count("samples") == 0
        finally:
            store.close()
    except Exception:
        return
    if empty:
        shutil.rmtree(run_dir, ignore_errors=True)


def _new_config(flags: dict):
    from funsearch.config import diverge_applies, make_config

    if flags["problem"] is None:
        fail("give a PROBLEM file (or --resume/--replay RUN_DIR)")
    counts = flags.pop("pool_counts")
    flags.update(problem=str(flags["problem"]), scripted_file=flags.pop("scripted"),
                 pool_counts=tuple(int(c) for c in counts.split(",")) if counts else None)
    told = flags.pop("diverge")  # not told: on where it applies, and wherever --diverge-lines asks for it
    cfg = make_config(**flags, diverge=bool(told) if told is not None else flags["diverge_lines"] != "uniform")
    specs = preflight(cfg)
    if told is None and diverge_applies(cfg, specs):
        cfg = cfg.model_copy(update={"diverge": True})
    if cfg.samples is None and cfg.budget is None:
        typer.echo("no --samples or --budget: running until Ctrl-C (state is saved; --resume continues)", err=True)
    return cfg


def eval_cmd(
    problem: Path = typer.Argument(..., help="problem file"),
    candidate: Path = typer.Argument(..., help="file with the evolved function's source"),
    split: Optional[str] = typer.Option(None, "--split", help="split name (default: the problem's TRAIN_SPLIT)"),
    instances: Optional[Path] = typer.Option(None, "--instances", help="JSON file of instances (shared/data schema)"),
    as_json: bool = typer.Option(False, "--json", help="print exactly one JSON object"),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="wall (and CPU) seconds per instance before "
                                            f"the sandbox kills the candidate [default: {DEFAULT_INSTANCE_SECONDS:g}]"),
) -> None:
    """Evaluate one candidate in the sandbox. Exit 0 whenever the candidate was judged."""
    from funsearch.problem.evaluate_file import evaluate_candidate_file
    from funsearch.problem.loader import ProblemError
    from funsearch.sandbox.limits import SandboxLimits

    try:
        limits = SandboxLimits() if timeout is None else SandboxLimits(wall_seconds=timeout)
    except ValueError as exc:  # --timeout 0, nan or beyond its bound
        fail(f"--timeout: {exc}")
    try:
        result = evaluate_candidate_file(problem, candidate, split=split, instances_file=instances,
                                         timeout=limits.wall_seconds)
    except ProblemError as exc:
        fail(str(exc))
    limit = {"wall_seconds_per_instance": limits.wall_seconds, "cpu_seconds_per_instance": limits.cpu_seconds,
             "instances_timed": "separately"}
    if as_json:
        sys.stdout.write(json.dumps({**result.to_json(), "time_limit": limit}) + "\n")
        return
    verdict = "valid" if result.valid else f"invalid ({result.failure.value if result.failure else '?'})"
    typer.echo(f"{verdict}  score {result.score}  " + "  ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()))
    if result.message:
        typer.echo(result.message)
    typer.echo(f"time limit: {limits.wall_seconds:g} s per instance (wall and CPU), each instance timed separately")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("eval")(eval_cmd)
