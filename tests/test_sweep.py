"""Sweeps: the grid of cells, budget checkpoints from ledger rows (pure), and the smoke experiment end to end."""
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from funsearch.cost.budget import BudgetUnit
from funsearch.study.budget_curves import budget_checkpoints
from funsearch.study.cells import NO_SIZE, cell_config, expand, shuffled_script
from funsearch.study.experiment import load_experiment, parse_experiment
from funsearch.study.results import read_results

ROOT = Path(__file__).resolve().parent.parent


def exp_of(**changes):
    base = {"name": "t", "problems": ["problems/bin_packing.py"], "sizes": ["small", "mid"],
            "budgets": ["$0.01", "$0.02"], "seeds": [0, 1]}
    return parse_experiment({**base, **changes})


def test_grid_has_sizes_times_seeds_plus_baselines():
    cells = expand(exp_of())
    assert len(cells) == 2 * (2 + 3)
    keys = {c.key for c in cells}
    assert len(keys) == len(cells)
    assert "bin_packing__small__evolve__s0" in keys and "bin_packing__mid__evolve__s1" in keys
    assert "bin_packing__random_mutation__s1" in keys and "bin_packing__small__best_of_n__s0" in keys
    assert all(c.budget_index == 1 for c in cells)
    assert {c.size for c in cells if c.mode == "random_mutation"} == {NO_SIZE}


def test_cell_configs_map_baselines_to_run_modes():
    exp = exp_of(baseline_size="mid", islands=4, max_samples=30)
    by_key = {c.key: c for c in expand(exp)}
    single = cell_config(exp, by_key["bin_packing__mid__single_island__s0"])
    assert (single.mode, single.islands, single.model_sizes) == ("evolve", 1, ("mid",))
    evolve = cell_config(exp, by_key["bin_packing__small__evolve__s1"])
    assert (evolve.mode, evolve.islands, evolve.seed, evolve.budget, evolve.samples) == ("evolve", 4, 1, "$0.02", 30)
    assert cell_config(exp, by_key["bin_packing__mid__best_of_n__s0"]).mode == "best_of_n"
    assert cell_config(exp, by_key["bin_packing__random_mutation__s0"]).mode == "random_mutation"


def test_scripted_order_depends_on_seed_only():
    texts = [str(i) for i in range(10)]
    assert shuffled_script(texts, 1) == shuffled_script(texts, 1)
    assert shuffled_script(texts, 1) != shuffled_script(texts, 2)
    assert sorted(shuffled_script(texts, 3)) == texts


def sample(i, cost, tokens=10, failure=None, hash_=None):
    return {"id": i, "prompt_tokens": tokens, "completion_tokens": 0, "failure": failure, "program_hash": hash_,
            "measured_cost": cost / 10, "modelled_cost": cost}


def evaluation(sid, cost, score, valid=1, hash_="h"):
    return {"sample_id": sid, "program_hash": hash_, "valid": valid, "score": score, "measured_cost": 0.0,
            "modelled_cost": cost}


def test_checkpoints_walk_cumulative_cost_and_best_score():
    samples = [sample(0, 1.0, hash_="a"), sample(1, 1.0, failure="no_code"), sample(2, 1.0, hash_="b"),
               sample(3, 1.0, hash_="c", failure="runtime_error")]
    evals = [evaluation(-1, 0.5, -10.0, hash_="seed"), evaluation(0, 0.5, -9.0, hash_="a"),
             evaluation(2, 0.5, -7.0, hash_="b"), evaluation(3, 0.5, None, valid=0, hash_="c")]
    programs = [{"sample_id": 0, "hash": "a", "score": -9.0}, {"sample_id": 2, "hash": "b", "score": -7.0}]
    # spend after each sample: seed 0.5, then 2.0, 3.0, 4.5, 6.0
    cps = budget_checkpoints(samples, evals, programs, [0.4, 2.0, 4.4, 4.5, 10.0], BudgetUnit.DOLLARS)
    assert [c["samples"] for c in cps] == [0, 1, 2, 3, 4]
    assert [c["score"] for c in cps] == [-10.0, -9.0, -9.0, -7.0, -7.0]
    assert [c["hash"] for c in cps] == ["seed", "a", "a", "b", "b"]
    assert [c["valid"] for c in cps] == [0, 1, 1, 2, 2]
    assert cps[3]["modelled_cost"] == pytest.approx(4.5)
    assert cps[3]["measured_cost"] == pytest.approx(0.3)
    assert [c["reached"] for c in cps] == [True, True, True, True, False]
    assert budget_checkpoints(samples, evals, programs, [10.0], BudgetUnit.DOLLARS, stop_reason="budget")[0]["reached"]


def test_checkpoints_in_tokens_samples_and_gpu_seconds():
    samples = [sample(0, 1.0, tokens=100, hash_="a"), sample(1, 2.0, tokens=50)]
    evals = [evaluation(-1, 0.5, -10.0, hash_="s"), evaluation(0, 0.5, -5.0, hash_="a")]
    programs = [{"sample_id": 0, "hash": "a", "score": -5.0}]
    assert [c["samples"] for c in budget_checkpoints(samples, evals, programs, [99, 150], BudgetUnit.TOKENS)] == [0, 2]
    assert [c["score"] for c in budget_checkpoints(samples, evals, programs, [1, 2], BudgetUnit.SAMPLES)] == [-5.0, -5.0]
    # $1 at $3600/h is one GPU-second; evaluations add no GPU-seconds
    gpu = budget_checkpoints(samples, evals, programs, [1.0, 2.9, 3.0], BudgetUnit.GPU_SECONDS, price_per_hour=3600)
    assert [c["samples"] for c in gpu] == [1, 1, 2]


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory):
    """The shipped smoke experiment, run once through the CLI with the scripted backend."""
    out = tmp_path_factory.mktemp("smoke")
    cmd = [sys.executable, "-m", "funsearch", "sweep", "experiments/smoke.toml", "--out", str(out), "--parallel", "2"]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    return out, cmd, first


def test_smoke_sweep_writes_results_and_report(smoke_sweep):
    out, _, first = smoke_sweep
    exp = load_experiment(ROOT / "experiments" / "smoke.toml", check_files=False)
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    cells = expand(exp)
    assert {r["cell"] for r in rows} == {c.key for c in cells}
    assert len(rows) == len(cells) * len(exp.budgets)
    assert {r["mode"] for r in rows} == {"evolve", "best_of_n", "single_island", "random_mutation"}
    for r in rows:
        assert float(r["score"]) <= -51.0 and r["metric_name"] == "excess_bins_pct"
        assert float(r["spent"]) <= float(r["budget_amount"]) * (1 + 1e-9)
    evolve = [r for r in rows if r["mode"] == "evolve"]
    assert all(int(r["samples"]) >= 1 and int(r["tokens"]) > 0 for r in evolve)
    assert max(float(r["score"]) for r in evolve) > -51.9      # the scripted improvements beat best fit
    report = (out / "report.md").read_text()
    assert "| $0.00004 | **small** |" in report
    for png in ("bin_packing_metric.png", "bin_packing_funnel.png", "bin_packing_improvement.png"):
        assert (out / png).stat().st_size > 5000 and f"]({png})" in report
    assert json.loads((out / "experiment.json").read_text())["name"] == "smoke"


def test_smoke_sweep_rerun_skips_finished_cells(smoke_sweep):
    out, cmd, _ = smoke_sweep
    before = (out / "results.csv").read_text()
    again = subprocess.run(cmd + ["--no-report"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "8 of 8 cells already finished (skipped)" in again.stderr
    assert "running" not in again.stderr and "started" not in again.stderr
    assert (out / "results.csv").read_text() == before


def _committed_copy(src: Path, dest: Path) -> Path:
    """What a fresh clone of a committed sweep folder holds: no cells/ (run stores are git-ignored)."""
    dest.mkdir()
    for name in ("experiment.json", "adaptive.json"):
        if (src / name).exists():
            shutil.copyfile(src / name, dest / name)
    shutil.copytree(src / "compact", dest / "compact")
    return dest


def test_smoke_sweep_compact_cells_hold_what_the_stores_say(smoke_sweep):
    from funsearch.store.summary import run_funnel
    from funsearch.study.budget_curves import run_rows
    from funsearch.study.compact import cell_of, read

    out, _, _ = smoke_sweep
    exp = load_experiment(ROOT / "experiments" / "smoke.toml", check_files=False)
    paths = sorted((out / "compact").glob("*.json"))
    assert [p.stem for p in paths] == sorted(c.key for c in expand(exp))
    assert (out / ".gitignore").read_text().splitlines()[1] == "cells/"
    for path in paths:
        data = read(path)
        run_dir = out / "cells" / path.stem
        assert data["rows"] == run_rows(exp, cell_of(data), run_dir)
        per_model = run_funnel(run_dir)
        for stage in ("samples", "valid", "duplicates", "copies", "noops", "cascade_stops", "new_best"):
            assert data["funnel"][stage] == sum(m[stage] for m in per_model), stage
        assert sum(data["failures"].values()) == data["funnel"]["samples"]
        assert data["heldout"]["train_split"] == "or1" and set(data["heldout"]["splits"]) == {
            "or2", "or3", "or4", "weibull_5k"}
        assert data["heldout"]["program_hash"] == data["best"]["hash"]
        assert data["best"]["score"] == data["rows"][-1]["score"]
        assert data["best"]["seed"] or "def priority" in data["best"]["source"]
        cost = data["cost"]
        assert cost["evaluation_share"] == pytest.approx(
            cost["evaluations_modelled"] / (cost["samples_modelled"] + cost["evaluations_modelled"]))
        assert data["rows"][-1]["eval_cost"] == pytest.approx(cost["evaluations_modelled"])


def test_fresh_clone_resumes_from_compact_data_and_reports_the_same_bytes(smoke_sweep, tmp_path):
    out, cmd, _ = smoke_sweep
    clone = _committed_copy(out, tmp_path / "clone")
    again = subprocess.run([sys.executable, "-m", "funsearch", "sweep", "experiments/smoke.toml", "--out", str(clone)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "8 of 8 cells already finished (skipped)" in again.stderr
    assert "running" not in again.stderr and not any((clone / "cells").iterdir())
    for name in ("results.csv", "report.md", "bin_packing_metric.png", "bin_packing_funnel.png"):
        assert (clone / name).read_bytes() == (out / name).read_bytes(), name
    # a folder written by another experiment is refused with one line, before any run
    other = tmp_path / "other.toml"
    other.write_text((ROOT / "experiments" / "smoke.toml").read_text().replace("islands = 2", "islands = 3"))
    refused = subprocess.run([sys.executable, "-m", "funsearch", "sweep", str(other), "--out", str(clone)],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        f"error: {clone} holds another experiment's results (islands: saved 2, now 3): not merged; "
        "use another --out"]


def test_cells_run_on_another_text_of_the_problem_file_are_refused_before_any_run(smoke_sweep, tmp_path):
    from funsearch.store.run_store import RunStore
    from funsearch.study.compact import read, write

    out, _, _ = smoke_sweep
    key, other = "bin_packing__small__evolve__s0", "bin_packing__small__best_of_n__s1"
    assert len(read(out / "compact" / f"{key}.json")["problem_sha256"]) == 64

    def sweep(folder):
        return subprocess.run([sys.executable, "-m", "funsearch", "sweep", "experiments/smoke.toml", "--out",
                               str(folder), "--no-report"], cwd=ROOT, capture_output=True, text=True, timeout=300)

    finished = _committed_copy(out, tmp_path / "finished")  # a finished cell: its compact file says
    data = read(finished / "compact" / f"{key}.json")
    write(finished / "compact" / f"{key}.json", {**data, "problem_sha256": "a" * 64})
    refused = sweep(finished)
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        f"error: problems/bin_packing.py has changed since cell {key} ran (sha256 aaaaaaaaaaaa then, "
        f"{data['problem_sha256'][:12]} now): not merged; use another --out"]
    unfinished = tmp_path / "unfinished"  # a cell to resume: its run store says
    shutil.copytree(out, unfinished)
    (unfinished / "compact" / f"{other}.json").unlink()
    store = RunStore(unfinished / "cells" / other)
    store.set_meta("problem", {"path": "problems/bin_packing.py", "sha256": "b" * 64})
    store.set_meta("stop_reason", "interrupted")
    store.close()
    refused = sweep(unfinished)
    assert refused.returncode == 2 and f"has changed since cell {other} ran (sha256 bbbbbbbbbbbb then" in refused.stderr
    assert not (unfinished / "compact" / f"{other}.json").exists()


def test_a_cell_stopped_before_its_heldout_evaluation_is_resumed_not_compacted(smoke_sweep, tmp_path):
    """A run that stopped but died in (or is still in) its held-out evaluation is unfinished: resuming it stops
    at once and evaluates; only then is its compact summary written."""
    from funsearch.store.run_store import RunStore
    from funsearch.study.compact import read

    out, _, _ = smoke_sweep
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    key = "bin_packing__small__evolve__s0"
    (copy / "compact" / f"{key}.json").unlink()
    store = RunStore(copy / "cells" / key)
    store.set_meta("heldout", None)
    store.close()
    again = subprocess.run([sys.executable, "-m", "funsearch", "sweep", "experiments/smoke.toml", "--out", str(copy),
                            "--no-report"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "7 of 8 cells already finished (skipped)" in again.stderr and f"{key}: resuming" in again.stderr
    # the resumed run may draw another sample within its budget (its stop was decided with a sample in flight),
    # so its numbers need not equal the original's: it is complete, within budget, and evaluated held out
    healed = read(copy / "compact" / f"{key}.json")
    assert healed["heldout"]["program_hash"] == healed["best"]["hash"]
    assert set(healed["heldout"]["splits"]) == {"or2", "or3", "or4", "weibull_5k"}
    assert all(r["spent"] <= r["budget_amount"] * (1 + 1e-9) for r in healed["rows"])
    rows = read_results(copy / "results.csv")
    assert len(rows) == len(read_results(out / "results.csv")) and key in {r["cell"] for r in rows}


def test_export_writes_a_committable_folder(smoke_sweep, tmp_path):
    out, _, _ = smoke_sweep
    dest = tmp_path / "docs" / "results" / "smoke"
    done = subprocess.run([sys.executable, "-m", "funsearch", "export", str(out), str(dest)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "exported 8 finished cells" in done.stdout
    assert sorted(p.name for p in dest.iterdir()) == sorted([
        ".gitignore", "bin_packing_funnel.png", "bin_packing_improvement.png", "bin_packing_metric.png", "cells",
        "compact", "experiment.json", "report.md", "results.csv"])
    assert not any((dest / "cells").iterdir())
    assert (dest / "report.md").read_bytes() == (out / "report.md").read_bytes()


def test_findings_are_shown_as_written_and_travel_with_an_export(smoke_sweep, tmp_path):
    out, _, _ = smoke_sweep
    clone = _committed_copy(out, tmp_path / "clone")
    (clone / "findings.md").write_text("Small leads at every budget; a tie at the first.\n")
    done = subprocess.run([sys.executable, "-m", "funsearch", "report", str(clone)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = (clone / "report.md").read_text()
    head, rest = report.split("## What the data show (written by hand, findings.md)\n\n")
    assert rest.startswith("Small leads at every budget; a tie at the first.\n") and "## bin_packing" not in head
    dest = tmp_path / "export"
    subprocess.run([sys.executable, "-m", "funsearch", "export", str(clone), str(dest)], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    assert (dest / "findings.md").read_text() == (clone / "findings.md").read_text()
    assert (dest / "report.md").read_bytes() == (clone / "report.md").read_bytes()


def test_cells_record_their_definition(tmp_path):
    from funsearch.study.cells import Cell, recorded_cells

    exp = exp_of()
    cell = Cell("problems/bin_packing.py", "mid", "evolve", 7, 1, 1)        # a seed beyond the grid's
    assert Cell.from_json(cell.to_json()) == cell
    (tmp_path / cell.key).mkdir()
    (tmp_path / cell.key / "cell.json").write_text(cell.to_json())
    (tmp_path / "bin_packing__small__evolve__s0").mkdir()                 # an older grid cell: matched by key
    (tmp_path / "unrelated").mkdir()
    found = {c.key: c for c in recorded_cells(tmp_path, exp)}
    assert set(found) == {cell.key, "bin_packing__small__evolve__s0"}
    assert found[cell.key].seed == 7 and found["bin_packing__small__evolve__s0"].size == "small"


@pytest.fixture(scope="module")
def adaptive_sweep(tmp_path_factory):
    """Two sizes, scripted, no baselines: `--adaptive` into a fresh folder, capped at 5 evolve runs."""
    base = tmp_path_factory.mktemp("adaptive")
    smoke = (ROOT / "experiments" / "smoke.toml").read_text()
    text = (smoke.replace('sizes = ["small"]', 'sizes = ["small", "mid"]')
            .replace('baselines = ["best_of_n", "single_island", "random_mutation"]', "baselines = []")
            .replace('"problems/bin_packing.py"', f'"{ROOT / "problems" / "bin_packing.py"}"')
            .replace('"experiments/smoke_completions.json"', f'"{ROOT / "experiments" / "smoke_completions.json"}"')
            + "\nmax_adaptive_runs = 5\n")
    assert "mid" in text and "baselines = []" in text
    (base / "exp.toml").write_text(text)
    out = base / "sweep"
    cmd = [sys.executable, "-m", "funsearch", "sweep", str(base / "exp.toml"), "--out", str(out), "--no-report",
           "--parallel", "2"]
    first = subprocess.run(cmd + ["--adaptive"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    return out, cmd, first


def test_adaptive_sweep_records_choices_and_keeps_every_run(adaptive_sweep):
    out, cmd, first = adaptive_sweep
    plan = json.loads((out / "adaptive.json").read_text())
    (problem, steps), = plan.items()
    assert [(s["size"], s["seed"], s["reason"]) for s in steps[:4]] == [
        ("small", 0, "minimum"), ("mid", 0, "minimum"), ("small", 1, "minimum"), ("mid", 1, "minimum")]
    assert 4 <= len(steps) <= 5 and all(s["reason"] == "gain" for s in steps[4:])
    assert "adaptive bin_packing: stopped (" in first.stderr
    keys = {f"bin_packing__{s['size']}__evolve__s{s['seed']}" for s in steps}
    rows = read_results(out / "results.csv")
    assert {r["cell"] for r in rows} == keys and len(rows) == 2 * len(keys)
    # re-running resumes from adaptive.json: nothing new runs, nothing is lost
    before = (out / "results.csv").read_text()
    again = subprocess.run(cmd + ["--adaptive"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "running" not in again.stderr and "started" not in again.stderr
    assert (out / "results.csv").read_text() == before
    assert json.loads((out / "adaptive.json").read_text()) == plan
    # the grid in the same folder reuses the adaptive runs (same cells) and adds the missing ones; a later
    # adaptive pass keeps every run in results.csv
    grid = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert grid.returncode == 0, grid.stderr[-3000:]
    assert "4 of 4 cells already finished (skipped)" in grid.stderr
    final = subprocess.run(cmd + ["--adaptive"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    cells = {r["cell"] for r in read_results(out / "results.csv")}
    assert cells == keys | {c.key for c in expand(load_experiment(out.parent / "exp.toml", check_files=False))}


def test_adaptive_sweep_resumes_from_compact_data_and_is_reported(adaptive_sweep, tmp_path):
    out, cmd, _ = adaptive_sweep
    clone = _committed_copy(out, tmp_path / "clone")
    plan = (clone / "adaptive.json").read_text()
    exp_file = cmd[cmd.index("sweep") + 1]
    again = subprocess.run([sys.executable, "-m", "funsearch", "sweep", exp_file, "--out", str(clone), "--adaptive"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "running" not in again.stderr and "started" not in again.stderr
    assert (clone / "adaptive.json").read_text() == plan
    section = (clone / "report.md").read_text().split("## The adaptive sweep beside the grid")[1]
    steps = json.loads(plan)[str(ROOT / "problems" / "bin_packing.py")]
    assert f"Adaptive: {len(steps)} of {len(steps)} chosen runs finished" in section
    assert "| budget | grid: best size (confidence) | adaptive: best size (probability) |" in section


def test_adaptive_sweep_replayed_over_a_grid_reuses_its_cells(adaptive_sweep, smoke_sweep, tmp_path):
    out, cmd, _ = adaptive_sweep
    plan = json.loads((out / "adaptive.json").read_text())
    exp_file = cmd[cmd.index("sweep") + 1]
    replay = tmp_path / "replay"
    again = subprocess.run([sys.executable, "-m", "funsearch", "sweep", exp_file, "--out", str(replay), "--adaptive",
                            "--no-report", "--reuse", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "running" not in again.stderr and "started" not in again.stderr      # nothing ran: every cell reused
    assert f"cells reused from {out}" in again.stderr
    steps = [(s["size"], s["seed"]) for s in json.loads((replay / "adaptive.json").read_text())[next(iter(plan))]]
    assert steps == [(s["size"], s["seed"]) for s in next(iter(plan.values()))]     # same data, same choices
    for path in (replay / "compact").glob("*.json"):
        assert json.loads(path.read_text()) == json.loads((out / "compact" / path.name).read_text())
    # another experiment's folder is refused in one line, before anything runs
    smoke_out = smoke_sweep[0]
    bad = subprocess.run([sys.executable, "-m", "funsearch", "sweep", exp_file, "--out", str(tmp_path / "other"),
                          "--adaptive", "--reuse", str(smoke_out)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "another experiment's cell" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "other").exists()


def test_grid_runs_seed_by_seed():
    cells = expand(exp_of(problems=["problems/bin_packing.py", "problems/tsp.py"], seeds=[0, 1, 2]))
    seeds = [c.seed for c in cells]
    assert seeds == sorted(seeds)                       # all of seed 0 first, then seed 1, ...
    first = cells[: len(cells) // 3]
    assert {c.problem for c in first} == {"problems/bin_packing.py", "problems/tsp.py"}


def test_only_keeps_the_admitted_cells_in_grid_order_and_refuses_what_admits_none():
    from funsearch.study.cells import select_cells

    cells = expand(exp_of(seeds=[0, 1, 2, 3]))
    mid = select_cells(cells, ["size=mid", "seed=1,3"])
    assert {(c.size, c.seed) for c in mid} == {("mid", 1), ("mid", 3)}
    assert [c.key for c in mid] == [c.key for c in cells if c.size == "mid" and c.seed in (1, 3)]
    assert select_cells(cells, ["problem=bin_packing", "mode=random_mutation"]) == \
        [c for c in cells if c.mode == "random_mutation"]
    assert select_cells(cells, []) == cells
    with pytest.raises(ValueError, match="admits no cell; size: mid, small"):
        select_cells(cells, ["size=large"])
    with pytest.raises(ValueError, match="KEY one of problem, size, mode, seed, variant"):
        select_cells(cells, ["colour=red"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        select_cells(cells, ["mid"])


def test_sweep_only_runs_the_admitted_cells_and_a_bad_filter_writes_nothing(tmp_path):
    exp = load_experiment(ROOT / "experiments" / "smoke.toml", check_files=False)
    cmd = [sys.executable, "-m", "funsearch", "sweep", "experiments/smoke.toml", "--no-report"]
    bad = subprocess.run(cmd + ["--out", str(tmp_path / "bad"), "--only", "size=huge"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--only 'size=huge' admits no cell" in bad.stderr
    assert not (tmp_path / "bad").exists()
    out = tmp_path / "only"
    ran = subprocess.run(cmd + ["--out", str(out), "--only", "mode=random_mutation", "--only", f"seed={exp.seeds[0]}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert f": 1 cell (--only: 1 of {len(expand(exp))})" in ran.stderr
    assert sorted(p.name for p in (out / "cells").iterdir()) == [f"bin_packing__random_mutation__s{exp.seeds[0]}"]
    assert {r["cell"] for r in read_results(out / "results.csv")} == {f"bin_packing__random_mutation__s{exp.seeds[0]}"}
