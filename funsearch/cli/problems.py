"""CLI commands for problem files: `check`, `new-problem`, `baselines`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from funsearch.cli.output import fail
from funsearch.sandbox.limits import DEFAULT_INSTANCE_SECONDS

TEMPLATE = Path(__file__).resolve().parent.parent / "problem" / "templates" / "new_problem.py"


def check(problem: Path = typer.Argument(..., help="problem file, e.g. problems/cap_set.py")) -> None:
    """Validate a problem file; print each defect on one line (exit 1), or "ok: ...", then any warnings."""
    from funsearch.problem.check import inspect_problem
    from funsearch.problem.loader import load_problem

    found = inspect_problem(problem)
    for line in found.defects:
        typer.echo(line)
    if found.defects:
        raise typer.Exit(1)
    loaded = load_problem(problem)
    typer.echo(f"ok: {problem}: evolves {loaded.function_name}{loaded.signature}; "
               f"{len(loaded.splits)} splits, train split {loaded.train_split!r}; baseline valid in the sandbox")
    for line in found.warnings:
        typer.echo(f"warning: {line}")


def new_problem(
    name: str = typer.Argument(..., help="problem name: a Python identifier, e.g. knapsack"),
    directory: Path = typer.Option(Path("problems"), "--dir", help="where to write NAME.py"),
) -> None:
    """Write a commented, working problem template to DIR/NAME.py (never overwrites)."""
    if not name.isidentifier():
        fail(f"problem name {name!r} is not a Python identifier (letters, digits, underscores)", 1)
    target = directory / f"{name}.py"
    if target.exists():
        fail(f"{target} already exists; not overwriting it", 1)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(TEMPLATE.read_text().replace("PROBLEM_NAME", name))
    typer.echo(f"wrote {target}; edit it, then run: funsearch check {target}")


def _limits(timeout: float | None):
    """SandboxLimits with `timeout` wall and CPU seconds per instance (None: the default)."""
    from funsearch.sandbox.limits import SandboxLimits

    return SandboxLimits() if timeout is None else SandboxLimits(wall_seconds=timeout, cpu_seconds=timeout)


def run_baselines(problem_path: Path, splits: list[str] | None, timeout: float | None = None) -> dict:
    """Evaluate every baseline candidate of a problem on the splits, through the sandboxed Evaluator."""
    from funsearch.problem.evaluator import Evaluator
    from funsearch.problem.loader import load_problem

    problem = load_problem(problem_path)
    for split in splits or ():
        if split not in problem.splits:
            raise ValueError(f"unknown split {split!r}; {problem.name} has {', '.join(problem.splits)}")
    baselines = problem.baselines()
    if not baselines:
        raise ValueError(f"no baseline candidates in {problem.path.parent / 'baselines' / problem.name}")
    rows = []
    with Evaluator(problem, limits=_limits(timeout)) as evaluator:
        for name, path in baselines.items():
            source = path.read_text()
            for split in splits or problem.splits:
                result = evaluator.evaluate(source, split=split)
                rows.append({"baseline": name, "split": split, **{k: result.to_json()[k] for k in
                             ("valid", "score", "metrics", "error", "seconds")}})
    return {"problem": problem.name, "results": rows}


def format_table(report: dict) -> str:
    """One row per baseline and split; one column per metric (rounded to 2 decimals)."""
    names = list(dict.fromkeys(k for row in report["results"] for k in row["metrics"])) or ["result"]
    header = ["baseline", "split", *names, "seconds"]
    table = [header]
    for row in report["results"]:
        if row["valid"]:
            cells = [f"{row['metrics'][k]:.2f}" if k in row["metrics"] else "" for k in names]
        else:
            error = row["error"] or {}
            cells = [f"invalid: {error.get('kind')}: {error.get('message', '')}"] + [""] * (len(names) - 1)
        table.append([row["baseline"], row["split"], *cells, f"{row['seconds']:.2f}"])
    widths = [max(len(r[i]) for r in table if i < len(r)) for i in range(len(header))]
    lines = []
    for r in table:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(line.rstrip() for line in lines)


def baselines(
    problem: Path = typer.Argument(..., help="problem file"),
    split: Optional[list[str]] = typer.Option(None, "--split", help="split to evaluate (repeatable; default all)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of a table"),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="sandbox wall/CPU seconds per instance "
                                            f"[default: {DEFAULT_INSTANCE_SECONDS:g}]"),
) -> None:
    """Evaluate every baseline candidate (problems/baselines/NAME/*.py) in the sandbox; print metrics per split."""
    from funsearch.problem.loader import ProblemError

    try:
        report = run_baselines(problem, split, timeout)
    except (ProblemError, ValueError) as exc:
        fail(str(exc), 1)
    typer.echo(json.dumps(report) if as_json else format_table(report))


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("new-problem")(new_problem)
    app.command("baselines")(baselines)
