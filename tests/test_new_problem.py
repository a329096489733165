"""A user's own problem: `new-problem` writes a working template; a hand-written fourth problem in a temporary
directory goes through `check`, `eval` and `baselines`. (The short `run` on it is added by the orchestrator's tests.)"""
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from funsearch.cli.problems import register
from funsearch.problem.check import check_problem, inspect_problem
from funsearch.problem.evaluator import Evaluator
from funsearch.problem.loader import load_problem

PARTITION = '''"""Two-way number partitioning: split numbers into two groups with sums as equal as possible.

Numbers are taken in order of decreasing priority and each goes to the group with the smaller sum.
"""
import funsearch

SPLITS = ("train", "test")
TRAIN_SPLIT = "train"


def load_split(name):
    import random
    rng = random.Random(1 if name == "train" else 2)
    return [{"name": f"{name}_{i}", "numbers": [rng.randint(1, 1000) for _ in range(40)]} for i in range(5)]


@funsearch.evolve
def priority(value: int, total: int) -> float:
    """Priority of a number (higher goes first); total is the sum of all numbers."""
    return 0.0


@funsearch.run
def solve(instance):
    numbers = instance["numbers"]
    total = sum(numbers)
    order = sorted(range(len(numbers)), key=lambda i: -float(priority(numbers[i], total)))
    sums = [0, 0]
    sides = [0] * len(numbers)
    for i in order:
        side = 0 if sums[0] <= sums[1] else 1
        sides[i] = side
        sums[side] += numbers[i]
    return sides


def score(instance, solution):
    numbers = instance["numbers"]
    if not isinstance(solution, list) or len(solution) != len(numbers) or any(s not in (0, 1) or type(s) is not int for s in solution):
        raise funsearch.InvalidSolution("solution must be a list with one side (0 or 1) per number")
    left = sum(n for n, s in zip(numbers, solution) if s == 0)
    return -float(abs(sum(numbers) - 2 * left))


def metrics(instances, solutions, scores):
    return {"mean_difference": -sum(scores) / len(scores)}
'''

LARGEST_FIRST = "def priority(value: int, total: int) -> float:\n    return float(value)\n"


@pytest.fixture
def fourth(tmp_path) -> Path:
    path = tmp_path / "partition.py"
    path.write_text(PARTITION)
    folder = tmp_path / "baselines" / "partition"
    folder.mkdir(parents=True)
    (folder / "input_order.py").write_text("def priority(value: int, total: int) -> float:\n    return 0.0\n")
    (folder / "largest_first.py").write_text(LARGEST_FIRST)
    return path


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # keep typer in multi-command mode
    return app


def test_fourth_problem_passes_check(fourth):
    assert check_problem(fourth) == []
    result = CliRunner().invoke(cli(), ["check", str(fourth)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok: {fourth}: evolves priority(value: int, total: int) -> float")


def test_fourth_problem_evaluates_in_the_sandbox(fourth):
    problem = load_problem(fourth)
    with Evaluator(problem) as evaluator:
        baseline = evaluator.evaluate(problem.baseline_source, split="test")
        better = evaluator.evaluate(LARGEST_FIRST, split="test")
        hostile = evaluator.evaluate("def priority(value, total):\n    return None\n", split="train")
    assert baseline.valid and len(baseline.per_instance) == 5
    assert better.valid and better.metrics["mean_difference"] == pytest.approx(27.2)  # largest first (LPT)
    assert baseline.metrics["mean_difference"] > better.metrics["mean_difference"]
    assert not hostile.valid and hostile.failure.value == "runtime_error"


def test_fourth_problem_through_eval_command(fourth, tmp_path):
    from funsearch.cli.app import app

    candidate = tmp_path / "candidate.py"
    candidate.write_text("Here is my idea:\n```python\n" + LARGEST_FIRST + "```\n")
    result = CliRunner().invoke(app, ["eval", str(fourth), str(candidate), "--split", "test", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid"] is True and report["metrics"]["mean_difference"] == pytest.approx(27.2)


def test_baselines_command_on_fourth_problem(fourth):
    result = CliRunner().invoke(cli(), ["baselines", str(fourth), "--split", "train", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["problem"] == "partition"
    rows = {row["baseline"]: row for row in report["results"]}
    assert set(rows) == {"input_order", "largest_first"}
    assert all(row["valid"] and row["split"] == "train" for row in rows.values())
    assert rows["largest_first"]["metrics"]["mean_difference"] < rows["input_order"]["metrics"]["mean_difference"]
    table = CliRunner().invoke(cli(), ["baselines", str(fourth)])
    lines = table.output.splitlines()
    assert lines[0].split() == ["baseline", "split", "mean_difference", "seconds"]
    assert len(lines) == 1 + 2 * 2
    unknown = CliRunner().invoke(cli(), ["baselines", str(fourth), "--split", "nope"])
    assert unknown.exit_code == 1 and "unknown split 'nope'" in unknown.output


def test_new_problem_writes_a_working_template(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli(), ["new-problem", "knapsack", "--dir", str(tmp_path / "mine")])
    assert result.exit_code == 0, result.output
    path = tmp_path / "mine" / "knapsack.py"
    text = path.read_text()
    assert "PROBLEM_NAME" not in text and text.startswith('"""knapsack:')
    assert check_problem(path) == []
    assert inspect_problem(path).warnings == []  # its driver validates what priority() returns
    with Evaluator(load_problem(path)) as evaluator:
        nan = evaluator.evaluate("def priority(value, weight, capacity):\n    return float('nan')\n")
    assert nan.failure.value == "bad_output" and "priority returned 30 non-finite value(s)" in nan.message
    again = runner.invoke(cli(), ["new-problem", "knapsack", "--dir", str(tmp_path / "mine")])
    assert again.exit_code == 1 and "already exists; not overwriting" in again.output
    assert path.read_text() == text
    bad = runner.invoke(cli(), ["new-problem", "my-problem", "--dir", str(tmp_path)])
    assert bad.exit_code == 1 and "not a Python identifier" in bad.output
    assert not (tmp_path / "my-problem.py").exists()
