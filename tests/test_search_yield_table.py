"""benchmarks/search_yield.py marks a row that rests on fewer seeds than its experiment asks for."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("search_yield", ROOT / "benchmarks" / "search_yield.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runs(*samples):
    return [{"funnel": {"samples": n}} for n in samples]


def test_planned_seeds_read_from_the_experiment(tmp_path):
    sy = _module()
    assert sy.planned_seeds(tmp_path) is None  # no experiment.json: nothing to compare with
    (tmp_path / "experiment.json").write_text(json.dumps({"name": "x", "seeds": [0, 1, 2, 3, 4]}))
    assert sy.planned_seeds(tmp_path) == 5
    (tmp_path / "experiment.json").write_text("{not json")
    assert sy.planned_seeds(tmp_path) is None


def test_partial_rows_say_so_and_complete_rows_do_not():
    sy = _module()
    assert sy.runs_of(_runs(200, 200), "exp", 5) == "200 samples, exp (partial: 2 of 5 seeds)"
    assert sy.runs_of(_runs(200, 190, 200, 200, 200), "exp", 5) == "190-200 samples, exp"
    assert sy.runs_of(_runs(200), "exp", None) == "200 samples, exp"
