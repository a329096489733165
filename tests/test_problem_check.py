"""problem.check: a good file passes; each hand-written defect gives exactly the expected one line."""
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from funsearch.cli.problems import register
from funsearch.problem.check import check_problem, corruptions, inspect_problem

ROOT = Path(__file__).resolve().parent.parent

GOOD = '''"""Pick a large value from a list."""
import funsearch

SPLITS = ("a", "b")
TRAIN_SPLIT = "a"


def load_split(name):
    return [{"name": f"{name}{i}", "values": [i, 3, 1, 2]} for i in range(3)]


@funsearch.evolve
def pick(values: list) -> int:
    """Index of the chosen value."""
    return 1


@funsearch.run
def solve(instance):
    return [pick(instance["values"])]


def score(instance, solution):
    if not isinstance(solution, list) or len(solution) != 1:
        raise funsearch.InvalidSolution("solution must be a list of one index")
    index = solution[0]
    if type(index) is not int or not 0 <= index < len(instance["values"]):
        raise funsearch.InvalidSolution("index out of range")
    return float(instance["values"][index])
'''

# (name, edit of GOOD as (old, new) pairs, expected line fragment)
BROKEN = [
    ("import_error", [("import funsearch\n", "import funsearch\nraise RuntimeError('boom')\n")],
     "import failed: RuntimeError: boom"),
    ("syntax_error", [("def score(instance, solution):", "def score(instance, solution)")], "syntax error"),
    ("no_evolve", [("@funsearch.evolve\n", "")], "no evolve function"),
    ("no_docstring", [('    """Index of the chosen value."""\n', "")], "pick() has no docstring"),
    ("no_run", [("@funsearch.run\n", "")], "no run driver"),
    ("no_score", [("def score(", "def scored(")], "missing function score()"),
    ("no_splits", [('SPLITS = ("a", "b")\nTRAIN_SPLIT = "a"\n', "")], "SPLITS is missing or empty"),
    ("bad_train_split", [('TRAIN_SPLIT = "a"', 'TRAIN_SPLIT = "c"')], "TRAIN_SPLIT 'c' is not in SPLITS"),
    ("split_fails", [("def load_split(name):\n", "def load_split(name):\n    if name == 'b':\n        raise OSError('no file b.json')\n")],
     "load_split('b') failed: OSError: no file b.json"),
    ("split_empty", [("def load_split(name):\n", "def load_split(name):\n    if name == 'b':\n        return []\n")],
     "split 'b' has no instances"),
    ("baseline_raises", [("    return 1\n", "    return values[99]\n")], "the baseline fails in the sandbox"),
    ("baseline_hangs", [("    return 1\n", "    while True:\n        pass\n")], "the baseline fails in the sandbox on split 'a': timeout"),
    ("not_json", [('    return [pick(instance["values"])]', '    return {pick(instance["values"])}')],
     "the run driver returns non-JSON-able data"),
    ("nan_output", [('    return [pick(instance["values"])]', '    return [float("nan")]')],
     "the run driver returns non-JSON-able data"),
    ("score_rejects", [("    return 1\n", "    return 7\n")], "score rejects the baseline's solution"),
    ("score_accepts_corrupt", [("    if type(index) is not int or not 0 <= index < len(instance[\"values\"]):\n"
                                "        raise funsearch.InvalidSolution(\"index out of range\")\n"
                                "    return float(instance[\"values\"][index])", "    return 1.0")],
     "score accepts a corrupted solution (first element replaced by None)"),
]


def write(tmp_path: Path, name: str, edits) -> Path:
    text = GOOD
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return path


def test_good_file_passes(tmp_path):
    assert check_problem(write(tmp_path, "good", [])) == []


@pytest.mark.parametrize("name,edits,fragment", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_defect_is_one_line(tmp_path, name, edits, fragment):
    defects = check_problem(write(tmp_path, name, edits), timeout=2.0)
    assert len(defects) == 1, defects
    assert fragment in defects[0]
    assert "\n" not in defects[0] and defects[0].startswith(f"{name}.py")


def test_missing_file(tmp_path):
    assert check_problem(tmp_path / "nope.py") == [f"problem file not found: {tmp_path / 'nope.py'}"]


def test_several_shape_defects_are_all_reported(tmp_path):
    path = write(tmp_path, "two", [("@funsearch.run\n", ""), ("def score(", "def scored(")])
    defects = check_problem(path)
    assert len(defects) == 2
    assert "no run driver" in defects[0] and "missing function score()" in defects[1]


@pytest.mark.parametrize("problem", ["bin_packing", "tsp", "cap_set"])
def test_shipped_problems_pass(problem):
    assert inspect_problem(ROOT / "problems" / f"{problem}.py") == ([], [])


# a driver that ranks whatever the evolved function returns (np.argmax takes NaN and strings)
UNCHECKED = (('    """Index of the chosen value."""\n    return 1\n', '    """Preference for a value."""\n    return value\n'),
             ("def pick(values: list) -> int:", "def pick(value: float) -> float:"),
             ('    return [pick(instance["values"])]',
              '    import numpy as np\n    return [int(np.argmax(np.asarray([pick(v) for v in instance["values"]])))]'))
CHECKED = UNCHECKED[:2] + ((UNCHECKED[2][0], UNCHECKED[2][1].replace(
    "np.asarray(", "funsearch.finite_numbers(").replace("]))])", "], what='pick'))])")),)


def test_a_driver_that_does_not_validate_is_warned_about(tmp_path):
    found = inspect_problem(write(tmp_path, "unchecked", UNCHECKED))
    assert found.defects == [] and len(found.warnings) == 1
    assert found.warnings[0].startswith("unchecked.py: the run driver does not validate what pick() returns: "
                                        "with pick() returning NaN")
    assert inspect_problem(write(tmp_path, "checked", CHECKED)) == ([], [])
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    shown = CliRunner().invoke(app, ["check", str(tmp_path / "unchecked.py")])
    assert shown.exit_code == 0 and shown.output.splitlines()[1].startswith("warning: unchecked.py: the run driver")


def test_corruptions_are_generic():
    assert corruptions([1, 2]) == [("first element replaced by None", [None, 2]), ("solution replaced by None", None)]
    assert corruptions({"a": 1})[0] == ("value of 'a' replaced by None", {"a": None})
    assert corruptions(3) == [("solution replaced by None", None)]


def test_check_command(tmp_path):
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    good = runner.invoke(app, ["check", str(write(tmp_path, "good", []))])
    assert good.exit_code == 0 and good.output.startswith("ok: ")
    bad = runner.invoke(app, ["check", str(write(tmp_path, "bad", [("@funsearch.run\n", ""), ("def score(", "def s(")]))])
    assert bad.exit_code == 1
    assert bad.output.splitlines() == ["bad.py: no run driver (decorate one with @funsearch.run)",
                                       "bad.py: missing function score()"]
