"""The report from compact cells alone: partial grids said so, byte-identical reruns, held-out metrics, the
decomposition, where the best size changes, the adaptive sweep beside the grid; sweep folders refuse another
experiment's data. Compact cells are written here by hand (the smoke sweep in test_sweep.py writes real ones)."""
import json
import shutil
from dataclasses import asdict

import pytest

from funsearch.cost.budget import BudgetUnit
from funsearch.study import compact
from funsearch.study.budget_curves import budget_checkpoints
from funsearch.study.cells import Cell, expand
from funsearch.study.decomposition import FACTORS, decomposition, pooled_ratio
from funsearch.study.experiment import ExperimentError, defining, parse_experiment
from funsearch.study.folder import SweepFolder
from funsearch.study.report import write_report
from funsearch.study.results import COLUMNS, read_results

EXP = {"name": "synthetic", "problems": ["problems/bin_packing.py"], "sizes": ["small", "mid"],
       "budgets": ["$0.01", "$0.02", "$0.04"], "seeds": [0, 1, 2], "baselines": ["random_mutation"]}
# mean score per size at each budget: small leads at $0.01, mid from $0.02 on
SCORES = {"small": (-51.0, -50.8, -50.7), "mid": (-51.5, -50.0, -49.0), "-": (-51.9, -51.9, -51.9)}


def synthetic_compact(exp, cell: Cell) -> dict:
    """A compact cell with plausible numbers: scores per SCORES (plus a seed offset), a held-out evaluation."""
    rows, base = [], SCORES[cell.size]
    for i, (text, amount) in enumerate(zip(exp.budgets, exp.budget_amounts)):
        samples, valid = 10 * (i + 1) + cell.seed, 6 * (i + 1)
        score = base[i] + 0.1 * cell.seed
        row = dict.fromkeys(COLUMNS)
        row.update(problem="bin_packing", size=cell.arm, mode=cell.mode, seed=cell.seed, budget=text,
                   budget_amount=amount, unit="dollars", score=score, metric_name="excess_bins_pct",
                   metric=(-score - 49.0) * 2, baseline_score=-51.9, samples=samples, valid=valid,
                   valid_rate=valid / samples, tokens=300 * samples, measured_cost=amount / 100,
                   modelled_cost=amount * 0.9, eval_cost=amount * 0.1, improvements=i + 1, gain=0.3 * (i + 1),
                   spent=amount * 0.9, reached=True, run_budget=exp.budgets[-1], stop_reason="budget", cell=cell.key)
        rows.append(row)
    heldout = {"program_hash": "h", "train_split": "or1", "train": {"excess_bins_pct": rows[-1]["metric"]},
               "splits": {"or2": {"valid": True, "score": -100.0, "metrics": {"excess_bins_pct": 6.0 + cell.seed},
                                  "failure": None, "message": "", "seconds": 1.0},
                          "or3": {"valid": cell.seed != 2, "score": None, "failure": None if cell.seed != 2 else
                                  "timeout", "message": "", "seconds": 10.0,
                                  "metrics": {"excess_bins_pct": 5.0} if cell.seed != 2 else {}}}}
    funnel = dict.fromkeys(("samples", "extracted", "compiles", "runs", "valid", "new_best", "duplicates", "copies",
                            "noops", "cascade_stops", "behaviour_new"), 0)
    funnel.update(samples=30, extracted=29, compiles=28, runs=25, valid=18, new_best=2, duplicates=6, copies=4,
                  noops=1, cascade_stops=2, behaviour_new=9)
    return {"format": compact.FORMAT, "key": cell.key, "cell": asdict(cell),
            "experiment": defining(json.loads(exp.model_dump_json())), "stop_reason": "budget",
            "models": [cell.size], "rows": rows, "decomposition": [compact.decompose(r) for r in rows],
            "funnel": funnel, "failures": {"valid": 18, "duplicate": 6, "runtime_error": 4, "no_code": 2},
            "cost": {"samples_modelled": 0.036, "evaluations_modelled": 0.004, "evaluation_share": 0.1},
            "staleness": {"histogram": {"0": 20, "1": 8, "3": 2}}, "seed": None, "best": None,
            "heldout": heldout, "strategies": {"classic": 30}}


def make_folder(path, keep=lambda cell: True, exp=None):
    exp = exp or parse_experiment(EXP)
    folder = SweepFolder(exp, path)
    folder.adopt()
    cells = [c for c in expand(exp) if keep(c)]
    for cell in cells:
        compact.write(compact.path_of(path, cell.key), synthetic_compact(exp, cell))
    return folder, cells


def outputs(path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.suffix in (".md", ".csv", ".png")}


def test_partial_report_from_compact_data_alone_is_byte_identical(tmp_path):
    make_folder(tmp_path / "a", keep=lambda c: not (c.seed == 2 and c.size == "mid"))
    report = write_report(tmp_path / "a").read_text()
    head = report.split("## bin_packing")[0]
    assert "**Partial results: 8 of 9 cells finished.** Nothing here is final" in head
    assert len(read_results(tmp_path / "a" / "results.csv")) == 8 * 3
    assert "- between $0.01 and $0.02: small → mid (confidence" in report
    first = outputs(tmp_path / "a")
    assert {"report.md", "results.csv", "bin_packing_metric.png", "bin_packing_funnel.png"} <= set(first)
    write_report(tmp_path / "a")
    assert outputs(tmp_path / "a") == first                      # twice: the same bytes, PNGs included
    shutil.copytree(tmp_path / "a", tmp_path / "b", ignore=shutil.ignore_patterns("*.md", "*.csv", "*.png"))
    write_report(tmp_path / "b")
    assert outputs(tmp_path / "b") == first                      # a fresh copy of the compact data: the same


def test_with_one_seed_per_size_the_answer_claims_no_confidence(tmp_path):
    make_folder(tmp_path, keep=lambda c: c.seed == 0)
    answer = write_report(tmp_path).read_text().split("### The answer")[1].split("###")[0]
    rows = [line for line in answer.splitlines() if line.startswith("| $")]
    assert len(rows) == 3 and all("| - (one seed) | - |" in row for row in rows)
    assert "(one seed: no confidence at" in answer and "(confidence" not in answer


def test_report_sections_heldout_decomposition_funnel(tmp_path):
    make_folder(tmp_path)
    report = write_report(tmp_path).read_text()
    assert "All 9 cells of the grid finished." in report and "Partial" not in report
    heldout = report.split("### Held-out metric")[1].split("###")[0]
    assert "| mode | size | train (or1) | or2 | or3 |" in heldout
    # or2: 6, 7, 8 over seeds; or3 invalid for seed 2: 2 of 3 runs
    assert "| evolve | small | " in heldout and "| 7 [6, 8] (3/3) | 5 [5, 5] (2/3) |" in heldout
    dec = report.split("### Why: the decomposition")[1].split("### Yield funnel")[0]
    assert "| evolve | mid | $0.04 | 3 |" in dec and "| random_mutation | - | $0.04 | 3 |" in dec
    assert "| evolve | small | 90 | 13.3% | 20.0% | 3.3% | 6.7% | 20.0% | 30.0% | runtime_error 12, no_code 6 | 0.1 | " \
           "0.47 / 1 |" in dec
    funnel = report.split("### Yield funnel")[1]
    assert "| evolve | small | 3 | 90 | 87 | 84 | 75 | 54 | 6 | 18 | 12 | 3 | 6 |" in funnel


def test_adaptive_section_beside_the_grid(tmp_path):
    folder, cells = make_folder(tmp_path)
    extra = Cell("problems/bin_packing.py", "mid", "evolve", 7, 2, 2)          # an adaptive seed beyond the grid
    compact.write(compact.path_of(tmp_path, extra.key), synthetic_compact(folder.exp, extra))
    steps = [{"size": s, "seed": seed, "reason": "minimum", "gain": None, "confidence_before": 0.5}
             for seed in (0, 1) for s in ("small", "mid")] + [
        {"size": "mid", "seed": 7, "reason": "gain", "gain": 0.1, "confidence_before": 0.8}]
    (tmp_path / "adaptive.json").write_text(json.dumps({"problems/bin_packing.py": steps}))
    report = write_report(tmp_path).read_text()
    section = report.split("## The adaptive sweep beside the grid")[1]
    assert "Adaptive: 5 of 5 chosen runs finished (small 2, mid 3);" in section
    assert "Grid: 6 of 6 evolve runs finished." in section
    assert "| $0.04 | mid (" in section
    assert extra.key in {r["cell"] for r in read_results(tmp_path / "results.csv")}


def test_folder_status_and_cells_from_compact_data(tmp_path):
    folder, cells = make_folder(tmp_path, keep=lambda c: c.seed == 0)
    assert not (tmp_path / "cells" / cells[0].key).exists()
    assert {c.key for c in folder.grid() if folder.status(c) == "finished"} == {c.key for c in cells}
    assert {folder.status(c) for c in folder.grid() if c.seed != 0} == {"new"}
    assert [c.key for c in folder.cells()] == sorted(c.key for c in cells)
    assert folder.progress() == (3, 9)
    assert "cells/" in (tmp_path / ".gitignore").read_text()


def test_folder_refuses_another_experiments_data(tmp_path):
    make_folder(tmp_path, keep=lambda c: c.seed == 0)
    other = parse_experiment({**EXP, "budgets": ["$0.01", "$0.05"]})
    with pytest.raises(ExperimentError) as info:
        SweepFolder(other, tmp_path).adopt()
    assert "\n" not in str(info.value)
    assert str(info.value) == (f"{tmp_path} holds another experiment's results (budgets: saved [\"$0.01\", "
                               "\"$0.02\", \"$0.04\"], now [\"$0.01\", \"$0.05\"]): not merged; use another --out")
    SweepFolder(parse_experiment({**EXP, "seeds": 5}), tmp_path).adopt()     # more seeds: the same experiment
    # a compact cell copied in from another experiment (other max_samples) is refused too
    foreign = parse_experiment({**EXP, "max_samples": 7})
    cell = Cell("problems/bin_packing.py", "small", "evolve", 4, 2, 2)
    compact.write(compact.path_of(tmp_path, cell.key), synthetic_compact(foreign, cell))
    with pytest.raises(ExperimentError, match=r"small__evolve__s4.json is another experiment's cell "
                                              r"\(max_samples: saved 7, now 200\): not merged$"):
        SweepFolder(parse_experiment(EXP), tmp_path).adopt()


def test_compact_read_rejects_other_files(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"format": 99, "rows": []}')
    with pytest.raises(compact.CompactError, match="not a compact cell of format 1"):
        compact.read(path)
    path.write_text("{")
    with pytest.raises(compact.CompactError, match="unreadable compact cell"):
        compact.read(path)


def test_island_improvements_start_from_the_seed_score():
    def sample(i, island):
        return {"id": i, "island": island, "prompt_tokens": 1, "completion_tokens": 1, "failure": None,
                "program_hash": f"p{i}", "measured_cost": 0.0, "modelled_cost": 1.0}

    samples = [sample(i, isl) for i, isl in enumerate((0, 1, 0, 0, 1))]
    evals = [{"sample_id": -1, "program_hash": "seed", "valid": 1, "score": -10.0, "measured_cost": 0.0,
              "modelled_cost": 0.5}] + [{"sample_id": i, "program_hash": f"p{i}", "valid": 1, "score": s,
                                         "measured_cost": 0.0, "modelled_cost": 0.25}
                                        for i, s in enumerate((-9.0, -9.5, -9.2, -8.0, -11.0))]
    programs = [{"sample_id": i, "island": s["island"], "hash": f"p{i}", "score": e["score"]}
                for i, (s, e) in enumerate(zip(samples, evals[1:]))]
    states = budget_checkpoints(samples, evals, programs, [1.0, 3.0, 100.0], BudgetUnit.DOLLARS)
    # island 0: -10 -> -9 (+1), -9.2 (no), -8 (+1); island 1: -10 -> -9.5 (+0.5), -11 (no)
    assert [s["improvements"] for s in states] == [0, 2, 3]
    assert [s["gain"] for s in states] == pytest.approx([0.0, 1.5, 2.5])
    assert [s["eval_cost"] for s in states] == pytest.approx([0.5, 1.0, 1.75])
    assert [s["valid"] for s in states] == [0, 2, 5]


def test_decomposition_factors_multiply_to_gain_per_dollar():
    rows = [{"problem": "p", "mode": "evolve", "size": "s", "budget": "$1", "budget_amount": 1.0, "samples": n,
             "valid": v, "improvements": k, "gain": g, "modelled_cost": c, "eval_cost": c / 4}
            for n, v, k, g, c in ((10, 6, 2, 0.5, 1.0), (20, 8, 1, 0.2, 2.0), (15, 5, 3, 0.9, 1.5))]
    (d,) = decomposition(rows)
    assert d["runs"] == 3 and {name for name, _, _ in FACTORS} <= set(d)
    product = d["samples_per_dollar"][0] * d["p_valid_new"][0] * d["p_improve"][0] * d["mean_gain"][0]
    assert product == pytest.approx(d["gain_per_dollar"][0]) == pytest.approx(1.6 / 4.5)
    assert d["p_valid_new"][0] == pytest.approx(19 / 45) and d["eval_share"][0] == pytest.approx(0.25)
    value, lo, hi = d["p_improve"]
    assert lo <= value <= hi
    assert pooled_ratio([(1.0, 0.0)]) == (None, None, None)
    assert pooled_ratio([(1.0, 4.0)]) == (0.25, 0.25, 0.25)


def test_variants_are_arms_size_slash_variant(tmp_path):
    exp = parse_experiment({**EXP, "sizes": ["small"], "baselines": [], "seeds": [0, 1],
                            "variants": {"classic": {"prompt": "classic"}, "edit": {"prompt": "edit"}}})
    make_folder(tmp_path, exp=exp)
    report = write_report(tmp_path).read_text()
    assert "All 4 cells of the grid finished." in report
    for section in ("### The answer", "### Held-out metric", "### Why: the decomposition", "### Yield funnel"):
        body = report.split(section)[1].split("\n### ")[0]
        assert "small/classic" in body and "small/edit" in body, section
    assert {r["size"] for r in read_results(tmp_path / "results.csv")} == {"small/classic", "small/edit"}


def test_budget_plots_name_their_unit_and_what_it_is_priced_on():
    from funsearch.study.report import budget_axis

    assert budget_axis("dollars", "h100", 16) == "budget (modelled H100 $, batch 16)"
    assert budget_axis("gpu_seconds", None, 1) == "budget (measured GPU-seconds)"
    assert budget_axis("wall_seconds", None, 1) == "budget (wall seconds)"
    assert budget_axis("samples", "h100", 16) == "budget (samples)"


def test_the_funnel_plot_shows_where_programs_that_ran_went():
    from funsearch.study.plots import funnel_bars

    counts = {"samples": 10, "extracted": 9, "compiles": 8, "runs": 7, "valid": 3, "new_best": 1,
              "duplicates": 2, "copies": 1, "noops": 1, "cascade_stops": 1}
    assert funnel_bars(counts) == [("samples", 10), ("extracted", 9), ("compiles", 8), ("runs", 7), ("valid", 3),
                                   ("new best", 1), ("duplicate", 2), ("no-op", 1), ("cascade stop", 1)]
    old = {k: v for k, v in counts.items() if k not in ("noops", "cascade_stops")}
    assert funnel_bars(old)[-2:] == [("no-op", 0), ("cascade stop", 0)]
