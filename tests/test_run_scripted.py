"""End-to-end runs through real Ray actors and the real sandbox, with the scripted backend.

The scripted completions (tests/data/bin_packing_completions.json) cover every
failure class the loop must record, plus real improvements over best fit.
"""
from pathlib import Path

import pytest

from funsearch.cli.show import render
from funsearch.config import make_config
from funsearch.orchestrator import run_search
from funsearch.store.run_store import RunStore
from funsearch.store.summary import summarise

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "bin_packing.py"
SCRIPT = ROOT / "tests" / "data" / "bin_packing_completions.json"


def scripted(**overrides):
    fields = dict(problem=str(PROBLEM), backend="scripted", scripted_file=str(SCRIPT), samples=10, seed=3,
                  islands=2, eval_timeout=5.0, cascade_probe=0)  # the classic loop (the cascade is tested below)
    fields.update(overrides)
    return make_config(**fields)


def rows(run_dir):
    store = RunStore(run_dir)
    try:
        return store.samples(), store.programs(), store.evaluations()
    finally:
        store.close()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "first"
    summary = run_search(scripted(), run_dir, echo=lambda line: None)
    return run_dir, summary


def test_the_cascade_classifies_no_ops_and_evaluates_the_rest_in_full(tmp_path):
    run_dir = tmp_path / "cascade"
    summary = run_search(scripted(cascade_probe=3), run_dir, echo=lambda line: None)
    samples, programs, evaluations = rows(run_dir)
    classes = [s["failure"] for s in samples]
    # -residual**2 and -r + 100 * (r == 0) choose exactly the bins best fit chooses: no-ops of their parent
    assert classes[1] == "noop" and classes[7] == "noop"
    assert classes[6] == "duplicate" and classes[2:6] == ["no_code", "syntax_error", "wrong_signature",
                                                          "runtime_error"]
    by_id = {e["sample_id"]: e for e in evaluations}
    assert len(by_id[1]["per_instance"]) == 3 and len(by_id[9]["per_instance"]) == 20  # probe only / full split
    assert {p["sample_id"] for p in programs} == {0, 9}
    assert set(summary.heldout) == {"or2", "or3", "or4", "weibull_5k"} and all(
        h["valid"] for h in summary.heldout.values())
    # copy steering: after a copy or no-op, a later prompt of that island samples hotter than the base 0.8
    temperatures = [s["params"]["temperature"] for s in samples]
    assert temperatures[0] == 0.8 and max(temperatures) > 0.8
    repeats = {s["island"] for s in samples if s["failure"] in ("noop", "duplicate")}
    assert all(s["island"] in repeats for s in samples if s["params"]["temperature"] > 0.8)


def test_without_steering_every_prompt_keeps_the_base_temperature(tmp_path):
    run_search(scripted(cascade_probe=3, steer=False), tmp_path / "plain", echo=lambda line: None)
    samples, _, _ = rows(tmp_path / "plain")
    assert {s["params"]["temperature"] for s in samples} == {0.8}


def test_every_sample_is_recorded_with_its_class(first_run):
    run_dir, summary = first_run
    samples, programs, evaluations = rows(run_dir)
    assert [s["id"] for s in samples] == list(range(10))
    classes = [s["failure"] for s in samples]
    assert classes == [None, None, "no_code", "syntax_error", "wrong_signature", "runtime_error", "duplicate",
                       None, "bad_output" if classes[8] == "bad_output" else "runtime_error", None]
    assert all(s["prompt"] and s["prompt_tokens"] > 0 for s in samples)
    assert all("def priority_v0(" in s["prompt"] for s in samples)
    # early prompts have one parent (only the seed exists), later ones two: v0, v1 -> write v2
    assert "def priority_v1(" in samples[0]["prompt"] and "def priority_v2(" not in samples[0]["prompt"]
    assert any("def priority_v1(" in s["prompt"] and "def priority_v2(" in s["prompt"] for s in samples)
    # baseline (best fit) + 4 valid programs; the duplicate of best fit was not evaluated again
    assert len(programs) == 4
    assert len(evaluations) == 1 + 6  # baseline, then samples 0, 1, 5, 7, 8, 9 (distinct programs)
    assert summary.stop_reason == "samples" and summary.samples == 10


def test_best_program_beats_the_seed_and_show_reports_the_funnel(first_run):
    run_dir, summary = first_run
    info = summarise(run_dir)
    assert summary.best_score > info["baseline"]["score"]
    assert summary.best_metrics["excess_bins_pct"] < 5.81  # best fit on OR1
    (funnel,) = info["per_model"]
    assert (funnel["samples"], funnel["extracted"], funnel["compiles"]) == (10, 9, 7)
    assert funnel["valid"] == 4 and funnel["duplicates"] == 1 and funnel["new_best"] >= 1
    text = render(info)
    assert "yield per model" in text and "best score" in text


def test_same_seed_same_prompts(first_run, tmp_path):
    run_dir, _ = first_run
    run_search(scripted(), tmp_path / "again", echo=lambda line: None)
    a, _, _ = rows(run_dir)
    b, _, _ = rows(tmp_path / "again")
    assert [s["prompt"] for s in a] == [s["prompt"] for s in b]
    assert [s["seed"] for s in a] == [s["seed"] for s in b]


def test_replay_reproduces_the_database(first_run, tmp_path):
    run_dir, summary = first_run
    replayed = run_search(scripted(), tmp_path / "replay", replay_from=run_dir, echo=lambda line: None)
    a_samples, a_programs, _ = rows(run_dir)
    b_samples, b_programs, _ = rows(tmp_path / "replay")
    key = lambda p: (p["id"], p["sample_id"], p["island"], p["hash"], p["score"])
    assert [key(p) for p in a_programs] == [key(p) for p in b_programs]
    assert [s["completion"] for s in a_samples] == [s["completion"] for s in b_samples]
    assert replayed.best_score == summary.best_score and replayed.stop_reason == "replay-exhausted"


def test_resume_continues_without_double_counting(tmp_path):
    run_dir = tmp_path / "resumed"
    run_search(scripted(samples=4, checkpoint_every=2), run_dir, echo=lambda line: None)
    summary = run_search(scripted(samples=10, checkpoint_every=2), run_dir, resume=True, echo=lambda line: None)
    samples, programs, evaluations = rows(run_dir)
    assert [s["id"] for s in samples] == list(range(10))
    assert len({p["hash"] for p in programs}) == len(programs)
    store = RunStore(run_dir)
    ledger = store.meta("ledger")
    store.close()
    assert ledger["totals"]["samples"] == 10
    assert ledger["totals"]["evaluations"] == len(evaluations)
    assert summary.samples == 10


def test_a_run_records_its_problem_text_and_will_not_resume_on_another(tmp_path):
    import hashlib

    from funsearch.store.run_store import StoreError

    run_dir = tmp_path / "changed"
    run_search(scripted(samples=2), run_dir, echo=lambda line: None)
    store = RunStore(run_dir)
    assert store.meta("problem")["sha256"] == hashlib.sha256(PROBLEM.read_bytes()).hexdigest()
    store.set_meta("problem", {"path": str(PROBLEM), "sha256": "0" * 64})  # as if the file was edited since
    store.close()
    with pytest.raises(StoreError, match=r"bin_packing.py has changed since this run started \(sha256 000000000000 "
                                         r"then, [0-9a-f]{12} now\): not resumed; start a new run"):
        run_search(scripted(samples=4), run_dir, resume=True, echo=lambda line: None)
    assert len(rows(run_dir)[0]) == 2  # nothing was added


def test_token_budget_stops_within_one_sample(tmp_path):
    run_dir = tmp_path / "budget"
    summary = run_search(scripted(samples=None, budget="2k-tokens"), run_dir, echo=lambda line: None)
    samples, _, _ = rows(run_dir)
    spent = sum(s["prompt_tokens"] + s["completion_tokens"] for s in samples)
    largest = max(s["prompt_tokens"] + s["completion_tokens"] for s in samples)
    assert summary.stop_reason == "budget"
    assert 2000 - largest <= spent <= 2000 + largest


def test_show_names_the_seed_when_nothing_beat_it(tmp_path):
    script = tmp_path / "worse.json"
    script.write_text('["    return -np.arange(len(bins))\\n", "    return bins - item\\n"]')  # first fit, worst fit
    run_search(scripted(scripted_file=str(script), samples=2), tmp_path / "worse", echo=lambda line: None)
    info = summarise(tmp_path / "worse")
    assert info["best"]["sample_id"] == -1 and info["best"]["score"] == info["baseline"]["score"]
    assert "return -(bins - item)" in info["best"]["source"]          # best fit, the problem's own seed
    assert "best score" in render(info) and "(sample -1" in render(info)


def test_behaviourally_new_programs_are_counted_without_the_cascade(first_run):
    from funsearch.store.cell_facts import cell_facts

    run_dir, _ = first_run
    funnel = cell_facts(run_dir)["funnel"]
    # valid: samples 0 (first fit), 1 (-residual**2), 7 (-r + 100 * (r == 0)) and 9; 1 and 7 choose exactly the
    # bins best fit (the seed) chooses, so only 0 and 9 are new behaviour
    assert funnel["valid"] == 4 and funnel["behaviour_new"] == 2


SLOW_HELD_OUT = '''"""Fast on its training split, slow by construction on its held-out one (0.6 s per instance)."""
import time

import funsearch

SPLITS = ("fast", "slow")
TRAIN_SPLIT = "fast"


def load_split(name):
    return [{"name": f"{name}_{k}", "values": [3.0, 1.0, 2.0], "pause": 0.6 if name == "slow" else 0.0}
            for k in range(2)]


@funsearch.evolve
def priority(value: float) -> float:
    """Priority of a number; the driver lists positions by increasing priority."""
    return value


@funsearch.run
def solve(instance):
    time.sleep(instance["pause"])
    return sorted(range(3), key=lambda i: priority(instance["values"][i]))


def score(instance, solution):
    return float(solution == [1, 2, 0])
'''


def test_held_out_splits_get_the_eval_commands_time_limit_not_the_runs(tmp_path):
    """The run's limit (0.3 s per instance) would kill every held-out instance (each sleeps 0.6 s); held out,
    the best program gets the eval command's limit instead. Slow by construction, not by machine speed."""
    from funsearch.problem.evaluator import Evaluator
    from funsearch.problem.loader import load_problem
    from funsearch.sandbox.limits import SandboxLimits

    path = tmp_path / "slow_held_out.py"
    path.write_text(SLOW_HELD_OUT)
    problem = load_problem(str(path))
    with Evaluator(problem, SandboxLimits(wall_seconds=0.3)) as tight:  # premise: the run's limit fails it
        assert not tight.evaluate(problem.baseline_source, split="slow").valid
    cfg = make_config(problem=str(path), mode="random_mutation", samples=2, seed=1, islands=2, eval_timeout=0.3)
    summary = run_search(cfg, tmp_path / "tight", echo=lambda line: None)
    assert summary.heldout["slow"]["valid"], summary.heldout["slow"]


def test_divergence_holds_to_a_duplicate_written_in_other_words(tmp_path):
    """A copy of the seed in other spacing is a duplicate, yet new as text: divergence must hold later samples to
    that text too (measured: mid wrote such a variant of an earlier program again and again)."""
    import json

    script = tmp_path / "completions.json"
    script.write_text(json.dumps(["    return -(bins-item)\n", "    return -(bins - item) * 2\n"]))
    run_dir = tmp_path / "run"
    run_search(scripted(scripted_file=str(script), samples=2, islands=1, diverge=True), run_dir,
               echo=lambda line: None)
    samples, _, _ = rows(run_dir)
    assert samples[0]["failure"] == "duplicate"
    store = RunStore(run_dir)
    known = store.latest_checkpoint().database["known"]
    store.close()
    assert "    return -(bins-item)\n" in known and "    return -(bins - item)\n" in known
