"""Faults: a driver killed with SIGKILL resumes losing nothing; a dead proposer fails samples, not the run."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from funsearch.config import make_config
from funsearch.orchestrator import run_search
from funsearch.sandbox.proctree import cmdline_starts_with, descendants
from funsearch.store.run_store import RunStore

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "bin_packing.py"


def distinct_completions(n: int) -> list[str]:
    """n different valid programs (distinct ASTs), so every sample is evaluated."""
    return [f"    return -(bins - item) + {k / 1000:.3f} * (bins == bins.max())\n" for k in range(n)]


def as_from_a_terminal() -> None:
    """Child setup: Ctrl-C's default disposition. A shell's background job (`cmd &`, as CI may run the suite)
    starts with SIGINT ignored and passes that on to every child, so a Python child would never see the interrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def count_rows(db: Path, table: str) -> int:
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_run_then_resume_loses_nothing_and_counts_once(tmp_path):
    script = tmp_path / "completions.json"
    script.write_text(json.dumps(distinct_completions(150)))
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "funsearch", "run", str(PROBLEM), "--backend", "scripted", "--scripted",
           str(script), "--samples", "150", "--islands", "3", "--seed", "5", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    db = None
    while time.monotonic() < deadline:
        found = list(out.glob("*/run.sqlite"))
        if found and count_rows(found[0], "samples") >= 40:
            db = found[0]
            break
        time.sleep(0.05)
    assert db is not None, "the run never got going"
    os.kill(proc.pid, signal.SIGKILL)  # the driver only; Ray's own processes notice it is gone
    proc.wait(timeout=30)
    run_dir = db.parent

    store = RunStore(run_dir)
    before_samples = {s["id"]: s["completion"] for s in store.samples()}
    before_evals = {e["program_hash"]: e["score"] for e in store.evaluations()}
    store.close()
    assert 40 <= len(before_samples) < 150

    cfg = json.loads((run_dir / "config.json").read_text())
    summary = run_search(make_config(**cfg), run_dir, resume=True, echo=lambda line: None)

    store = RunStore(run_dir)
    samples = store.samples()
    evaluations = store.evaluations()
    programs = store.programs()
    ledger = store.meta("ledger")
    store.close()
    assert [s["id"] for s in samples] == list(range(150))
    for sid, completion in before_samples.items():  # nothing recorded before the kill was lost or changed
        assert samples[sid]["completion"] == completion
    after_evals = {e["program_hash"]: e["score"] for e in evaluations}
    assert all(after_evals[h] == score for h, score in before_evals.items())
    valid_hashes = {e["program_hash"] for e in evaluations if e["valid"]} - {evaluations[0]["program_hash"]}
    assert valid_hashes <= {p["hash"] for p in programs}  # every evaluated valid program is in the database
    assert len(evaluations) == len({e["program_hash"] for e in evaluations})  # no program evaluated twice
    assert ledger["totals"]["samples"] == 150  # each sample charged once across both sessions
    assert ledger["totals"]["evaluations"] == len(evaluations)
    assert summary.samples == 150


def test_unreachable_proposer_fails_samples_and_the_run_stops_cleanly(tmp_path):
    cfg = make_config(problem=str(PROBLEM), backend="openai", base_url="http://127.0.0.1:9", samples=20,
                      islands=1, proposer_backoff=0.01)
    summary = run_search(cfg, tmp_path / "run", echo=lambda line: None)
    store = RunStore(tmp_path / "run")
    samples = store.samples()
    store.close()
    assert summary.stop_reason == "proposers-failed"
    assert samples and {s["failure"] for s in samples} == {"proposer_error"}
    assert all(s["message"] for s in samples)


def test_ctrl_c_stops_cleanly_with_state_saved(tmp_path):
    # 1,500 samples: ten times what a loaded machine runs before the interrupt arrives (150 once finished first)
    script = tmp_path / "completions.json"
    script.write_text(json.dumps(distinct_completions(1500)))
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "funsearch", "run", str(PROBLEM), "--backend", "scripted", "--scripted",
           str(script), "--samples", "1500", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = list(out.glob("*/run.sqlite"))
        if found and count_rows(found[0], "samples") >= 20:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert "interrupted: state saved; continue with: funsearch run --resume" in err
    store = RunStore(found[0].parent)
    try:
        assert store.meta("stop_reason") == "interrupted"
        assert store.latest_checkpoint() is not None
        assert 20 <= store.count("samples") < 1500
    finally:
        store.close()


def evaluator_actor_pids(root: int) -> list[int]:
    return [pid for pid in descendants(root) if cmdline_starts_with(pid, b"ray::EvaluatorActor")]


SLOW_BEST_FIT = """    global _slept
    try:
        _slept
    except NameError:
        _slept = True
        import time
        time.sleep(4)
    return -(bins - item)
"""


def test_evaluator_killed_mid_evaluation_is_restarted_and_the_candidate_retried(tmp_path):
    script = tmp_path / "completions.json"
    script.write_text(json.dumps([SLOW_BEST_FIT]))
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "funsearch", "run", str(PROBLEM), "--backend", "scripted", "--scripted",
           str(script), "--samples", "1", "--islands", "1", "--cascade-probe", "0", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    killed = None
    while time.monotonic() < deadline and killed is None:
        found = list(out.glob("*/run.sqlite"))
        if found and count_rows(found[0], "samples") >= 1:  # the completion is in: its evaluation is running
            time.sleep(1.0)
            pids = evaluator_actor_pids(proc.pid)
            assert len(pids) == 1
            os.kill(pids[0], signal.SIGKILL)
            killed = pids[0]
        time.sleep(0.05)
    assert killed is not None
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    store = RunStore(found[0].parent)
    try:
        (sample,) = store.samples()
        evaluation = store.evaluations("WHERE sample_id = 0")[0]
    finally:
        store.close()
    assert evaluation["valid"] == 1 and evaluation["score"] == -51.9  # retried on the restarted actor
    assert sample["failure"] is None


def test_ctrl_c_stops_a_parallel_sweep_and_its_cells_resume(tmp_path):
    # cells of 1,500 samples: none can finish before the interrupt, even on a loaded machine (150 once did)
    script = tmp_path / "completions.json"
    script.write_text(json.dumps(distinct_completions(1500)))
    experiment = tmp_path / "long.toml"
    experiment.write_text(f'name = "long"\nproblems = ["{PROBLEM}"]\nsizes = ["small"]\nbudgets = ["1500-samples"]\n'
                          f'max_samples = 1500\nseeds = [0, 1]\nbackend = "scripted"\nscripted_file = "{script}"\n'
                          f'islands = 2\n')
    out = tmp_path / "sweep"
    proc = subprocess.Popen([sys.executable, "-m", "funsearch", "sweep", str(experiment), "--parallel", "2",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        stores = list(out.glob("cells/*/run.sqlite"))
        if stores and count_rows(stores[0], "samples") >= 10:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)  # to the driver alone, as `kill -INT` does: it must not be stuck in a wait
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted: continue with: funsearch sweep" in err
    assert not list(out.glob("compact/*.json"))  # no cell was finished (nor half-written as finished)
