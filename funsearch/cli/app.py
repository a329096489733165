"""The `funsearch` command line (typer). Feature areas add commands from funsearch/cli/*.py."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="FunSearch-style program search with sandboxed evaluation and cost-matched model-size studies.")

COMMAND_MODULES = ("show", "models", "sandbox", "problems", "cost", "sweep")


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def run(
    problem: Optional[Path] = typer.Argument(None, help="problem file (omit with --resume/--replay)"),
    model_size: str = typer.Option("small", "--model-size", help="size(s) from models/*.toml, comma-separated for a pool"),
    model: Optional[str] = typer.Option(None, "--model", help="a custom model: .gguf path or HF id (replaces --model-size)"),
    samples: Optional[int] = typer.Option(None, "--samples", help="stop after N samples"),
    budget: Optional[str] = typer.Option(None, "--budget", help="2gpu-h | $5 | 200k-tokens | 30m | 500-samples"),
    price_as: Optional[str] = typer.Option(None, "--price-as", help="hardware profile for modelled cost (h100, ...)"),
    hardware: str = typer.Option("cpu", "--hardware", help="hardware profile the proposers run on"),
    calibration: Optional[str] = typer.Option(None, "--calibration",
                                              help="calibration JSON for the modelled profile (cost --calibrate)"),
    seed: int = typer.Option(0, "--seed"),
    islands: int = typer.Option(10, "--islands"),
    backend: str = typer.Option("llamacpp", "--backend", help="llamacpp | openai | vllm | scripted"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible server (backend openai)"),
    api_key_env: Optional[str] = typer.Option(None, "--api-key-env", help="env var with the API key"),
    scripted: Optional[str] = typer.Option(None, "--scripted", help="JSON list of completions (backend scripted)"),
    pool_counts: Optional[str] = typer.Option(None, "--pool-counts", help="actors per size, e.g. 1,2"),
    pool_policy: str = typer.Option("fixed", "--pool-policy", help="fixed | bandit"),
    evaluators: int = typer.Option(1, "--evaluators"),
    threads: int = typer.Option(1, "--threads", help="CPU threads per llama.cpp proposer"),
    samples_per_prompt: int = typer.Option(1, "--samples-per-prompt"),
    max_tokens: int = typer.Option(400, "--max-tokens"),
    temperature: float = typer.Option(0.8, "--temperature"),
    eval_timeout: float = typer.Option(10.0, "--eval-timeout"),
    split: Optional[str] = typer.Option(None, "--split", help="split to evolve on (default TRAIN_SPLIT)"),
    mode: str = typer.Option("evolve", "--mode", help="evolve | best_of_n | random_mutation"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster: auto | ray://host:port"),
    out: Path = typer.Option(Path("runs"), "--out", help="parent folder of run directories"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue a stopped run"),
    replay: Optional[Path] = typer.Option(None, "--replay", help="re-run a recorded run from its completions"),
) -> None:
    """Evolve the problem's function with an LLM in the loop."""
    from funsearch.config import ConfigError, RunConfig, make_config
    from funsearch.orchestrator import run_search
    from funsearch.orchestrator.session import default_run_dir
    from funsearch.problem.loader import ProblemError
    from funsearch.store.run_store import StoreError

    try:
        if resume is not None:
            cfg = RunConfig.load(resume / "config.json")
            if samples is not None or budget is not None:
                cfg = cfg.model_copy(update={k: v for k, v in (("samples", samples), ("budget", budget)) if v})
            summary = run_search(cfg, resume, resume=True)
        else:
            if replay is not None:
                cfg = RunConfig.load(replay / "config.json")
                run_dir = default_run_dir(cfg, out)
            else:
                if problem is None:
                    fail("give a PROBLEM file (or --resume/--replay RUN_DIR)")
                cfg = make_config(problem=str(problem), model_sizes=model or model_size,
                                  pool_counts=tuple(int(c) for c in pool_counts.split(",")) if pool_counts else None,
                                  pool_policy=pool_policy, backend=backend, base_url=base_url, api_key_env=api_key_env,
                                  scripted_file=scripted, threads=threads, samples=samples, budget=budget,
                                  hardware=hardware, price_as=price_as, calibration=calibration, seed=seed,
                                  islands=islands,
                                  samples_per_prompt=samples_per_prompt, max_tokens=max_tokens,
                                  temperature=temperature, evaluators=evaluators, eval_timeout=eval_timeout,
                                  split=split, address=address, mode=mode)
                if cfg.samples is None and cfg.budget is None:
                    typer.echo("no --samples or --budget: running until Ctrl-C (state is saved; --resume continues)",
                               err=True)
                run_dir = default_run_dir(cfg, out)
            summary = run_search(cfg, run_dir, replay_from=replay)
    except (ConfigError, ProblemError, StoreError) as exc:
        fail(str(exc))
    except Exception as exc:  # backends and Ray report here; one line, not a traceback
        from funsearch.cli.output import describe
        fail(describe(exc))
    typer.echo("")
    typer.echo(f"run: {summary.run_dir}  ({summary.samples} samples, stopped: {summary.stop_reason})")
    if summary.best_score is not None:
        metrics = "  ".join(f"{k}={v:.4g}" for k, v in summary.best_metrics.items())
        typer.echo(f"best score {summary.best_score:.6g}  {metrics}")
        typer.echo(summary.best_source or "")


@app.command("eval")
def eval_cmd(
    problem: Path = typer.Argument(..., help="problem file"),
    candidate: Path = typer.Argument(..., help="file with the evolved function's source"),
    split: Optional[str] = typer.Option(None, "--split", help="split name (default: the problem's TRAIN_SPLIT)"),
    instances: Optional[Path] = typer.Option(None, "--instances", help="JSON file of instances (shared/data schema)"),
    as_json: bool = typer.Option(False, "--json", help="print exactly one JSON object"),
    timeout: float = typer.Option(10.0, "--timeout", help="wall seconds before the sandbox kills the candidate"),
) -> None:
    """Evaluate one candidate in the sandbox. Exit 0 whenever the candidate was judged."""
    from funsearch.problem.evaluate_file import evaluate_candidate_file
    from funsearch.problem.loader import ProblemError

    try:
        result = evaluate_candidate_file(problem, candidate, split=split, instances_file=instances, timeout=timeout)
    except ProblemError as exc:
        fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
        return
    verdict = "valid" if result.valid else f"invalid ({result.failure.value if result.failure else '?'})"
    typer.echo(f"{verdict}  score {result.score}  " + "  ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()))
    if result.message:
        typer.echo(result.message)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"funsearch.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"funsearch.cli.{name}":
                continue
            raise
        module.register(app)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
