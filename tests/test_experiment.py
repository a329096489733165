"""Experiment configs: the shipped files validate; every bad field gives one line naming the field."""
import json
from pathlib import Path

import pytest

from funsearch.cost.budget import BudgetUnit
from funsearch.study.cells import expand
from funsearch.study.experiment import ExperimentError, incompatibility, load_experiment, parse_experiment

ROOT = Path(__file__).resolve().parent.parent
DROP = object()
BASE = {"name": "x", "problems": ["problems/bin_packing.py"], "sizes": ["small", "mid"], "budgets": ["$0.1", "$0.2"]}


def bad(**changes) -> str:
    data = {**BASE, **changes}
    data = {k: v for k, v in data.items() if v is not DROP}
    with pytest.raises(ExperimentError) as info:
        parse_experiment(data, "e.toml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_and_derived_fields():
    exp = parse_experiment(BASE)
    assert exp.seeds == (0, 1, 2)
    assert exp.baselines == ("best_of_n", "single_island", "random_mutation")
    assert exp.budget_unit is BudgetUnit.DOLLARS
    assert exp.budget_amounts == (0.1, 0.2)
    assert exp.llm_baseline_size == "small"
    assert exp.out_dir() == Path("sweeps/x")
    assert exp.out_dir("elsewhere") == Path("elsewhere")
    assert parse_experiment({**BASE, "seeds": 4}).seeds == (0, 1, 2, 3)


@pytest.mark.parametrize("changes, expected", [
    ({"budgets": ["$0.1", "10gpu-s"]}, "e.toml: budgets: all budgets must be in one unit, got dollars, gpu_seconds"),
    ({"budgets": ["$0.2", "$0.1"]}, "e.toml: budgets: must be in ascending order"),
    ({"budgets": ["30m"]}, "e.toml: budgets: unit wall_seconds cannot be read"),
    ({"budgets": ["lots"]}, "e.toml: budgets: invalid budget 'lots'"),
    ({"budgets": []}, "e.toml: budgets: needs at least one entry"),
    ({"sizes": ["small", "small"]}, "e.toml: sizes: has repeated entries"),
    ({"seeds": 0}, "e.toml: seeds: a seed count must be >= 1"),
    ({"baselines": ["best_of_n", "greedy"]}, "e.toml: baselines.1: Input should be"),
    ({"backend": "scripted"}, "e.toml: scripted_file: needed with backend scripted"),
    ({"backend": "openai"}, "e.toml: base_url: needed with backend openai"),
    ({"baseline_size": "xl"}, "e.toml: baseline_size: 'xl' is not one of sizes"),
    ({"budgets": ["10gpu-s"], "price_as": None}, "e.toml: price_as: GPU-second budgets need"),
    ({"max_samples": 0}, "e.toml: max_samples: Input should be greater than or equal to 1"),
    ({"islands": 1}, "e.toml: islands: "),
    ({"name": DROP}, "e.toml: name: Field required"),
    ({"colour": "red"}, "e.toml: colour: Extra inputs are not permitted"),
])
def test_errors_name_the_field(changes, expected):
    assert bad(**changes).startswith(expected)


def test_load_checks_files_and_toml(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('name = "x"\nproblems = ["nowhere.py"]\nsizes = ["small"]\nbudgets = ["$1"]\n')
    with pytest.raises(ExperimentError, match=r"problems: no such file nowhere.py$"):
        load_experiment(path)
    assert load_experiment(path, check_files=False).problems == ("nowhere.py",)
    path.write_text("name = \n")
    with pytest.raises(ExperimentError, match="not valid TOML"):
        load_experiment(path)
    with pytest.raises(ExperimentError, match="no experiment file"):
        load_experiment(tmp_path / "missing.toml")


@pytest.mark.parametrize("name", ["smoke.toml", "smoke_real.toml"])
def test_shipped_smoke_experiments_validate(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    exp = load_experiment(ROOT / "experiments" / name)
    assert len(exp.seeds) >= 2 and set(exp.baselines) == {"best_of_n", "single_island", "random_mutation"}


@pytest.mark.parametrize("problem,file", [("bin_packing", "bin_packing.py"), ("tsp", "tsp_construct.py")])
def test_the_size_study_is_the_one_the_issue_asks_for(problem, file, monkeypatch):
    monkeypatch.chdir(ROOT)
    exp = load_experiment(ROOT / "experiments" / f"size_study_{problem}.toml")
    assert set(exp.sizes) == {"mini", "small", "mid"} and len(exp.seeds) >= 5 and exp.price_as == "h100"
    assert [Path(p).name for p in exp.problems] == [file] and exp.modelled_batch == 16
    assert {"best_of_n", "random_mutation"} <= set(exp.baselines) and exp.budget_unit.value == "dollars"


def test_the_ablation_and_targets_experiments_validate(monkeypatch):
    monkeypatch.chdir(ROOT)
    ablation = load_experiment(ROOT / "experiments" / "yield_ablation.toml")
    assert set(ablation.variants) == {"classic", "classic_plus", "edit", "mix"}
    assert ablation.variants["classic"] == {"prompt": "classic", "steer": False, "cascade_probe": 0,
                                            "parent_helpers": False}
    targets = load_experiment(ROOT / "experiments" / "search_targets.toml")
    assert targets.budget_unit.value == "samples" and len(targets.seeds) >= 5
    # the cap-set slice shares the full experiment's folder: same defining settings, a subset of its cells
    part = load_experiment(ROOT / "experiments" / "search_targets_cap_set.toml")
    assert incompatibility(json.loads(part.model_dump_json()), targets) is None
    assert {c.key for c in expand(part)} < {c.key for c in expand(targets)}


def test_the_insertion_targets_compare_the_model_with_both_baselines_at_equal_samples(monkeypatch):
    monkeypatch.chdir(ROOT)
    exp = load_experiment(ROOT / "experiments" / "tsp_insertion_targets.toml")
    assert [Path(p).name for p in exp.problems] == ["tsp_insertion.py"] and exp.budget_unit.value == "samples"
    assert set(exp.baselines) == {"best_of_n", "random_mutation"} and exp.llm_baseline_size == "small"
    assert len(exp.seeds) >= 5 and exp.max_samples == 300 and exp.variants == {"diverge": {"diverge": True}}


BAD_INPUTS = [
    ('sizes = ["small", "huge"]', "sizes: unknown size 'huge' (the registry has tiny, mini, small"),
    ('sizes = ["small", "large"]', "sizes: 'large' has no llama.cpp weights (backends: vllm)"),
    ('problems = ["problems/nowhere.py"]', "problems: no such file problems/nowhere.py"),
    ('budgets = ["$0.1", "5parsecs"]', "budgets: invalid budget '5parsecs'"),
    ('budgets = ["30m", "1h"]', "budgets: unit wall_seconds cannot be read from a run's rows"),
    ('baselines = ["best_of_n", "greedy"]', "baselines.1: Input should be 'best_of_n', 'single_island' or"),
]


def _experiment_file(tmp_path: Path, line: str) -> Path:
    fields = {"name": '"bad"', "problems": '["problems/bin_packing.py"]', "sizes": '["small"]',
              "budgets": '["$0.1", "$0.2"]', "seeds": "[0]", "baselines": '["best_of_n"]'}
    key = line.split(" = ")[0]
    text = "\n".join(line if k == key else f"{k} = {v}" for k, v in fields.items()) + "\n"
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("line, expected", BAD_INPUTS)
def test_bad_input_fails_naming_the_field(tmp_path, monkeypatch, line, expected):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ExperimentError) as info:
        load_experiment(_experiment_file(tmp_path, line))
    assert "\n" not in str(info.value) and expected in str(info.value)


@pytest.mark.parametrize("line, expected", BAD_INPUTS)
def test_sweep_with_bad_input_fails_before_any_run(tmp_path, monkeypatch, line, expected):
    """`funsearch sweep` prints one line naming the field and creates no sweep folder."""
    from typer.testing import CliRunner

    from funsearch.cli.app import app

    monkeypatch.chdir(ROOT)
    out = tmp_path / "sweep"
    result = CliRunner().invoke(app, ["sweep", str(_experiment_file(tmp_path, line)), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert not out.exists()


def test_incompatibility_names_the_first_defining_field():
    from funsearch.study.experiment import incompatibility

    exp = parse_experiment({**BASE, "seeds": [0, 1], "variants": {"a": {"prompt": "edit"}}})
    saved = json.loads(exp.model_dump_json())
    assert incompatibility(saved, exp) is None
    # growing the grid (seeds, sizes, problems, baselines, a new variant) or changing threads / hardware is the
    # same experiment: each cell is an independent run
    grown = parse_experiment({**BASE, "seeds": [0, 1, 2, 3], "sizes": ["small", "mid", "tiny"], "threads": 1,
                              "hardware": "h100", "variants": {"a": {"prompt": "edit"}, "b": {"prompt": "mix"}}})
    assert incompatibility(saved, grown) is None
    assert incompatibility(saved, parse_experiment({**BASE, "budgets": ["$0.1", "$0.3"]})) == \
        'budgets: saved ["$0.1", "$0.2"], now ["$0.1", "$0.3"]'
    assert incompatibility(saved, parse_experiment({**BASE, "modelled_batch": 16})) == \
        "modelled_batch: saved 1, now 16"
    changed = parse_experiment({**BASE, "variants": {"a": {"prompt": "idea"}}})
    assert incompatibility(saved, changed) == 'variants.a: saved {"prompt": "edit"}, now {"prompt": "idea"}'
    # an experiment.json from an older version (fields it did not have yet take their defaults)
    older = {k: v for k, v in saved.items() if k not in ("modelled_batch", "variants")}
    assert incompatibility(older, parse_experiment({**BASE, "seeds": [0, 1]})) is None
