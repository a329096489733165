"""The pipelined loop: registration schedules (pure), the simulated engine, and runs through real Ray actors and the
real sandbox with a simulated fast engine: async registration registers every sample once, stays within its
window and evaluation queue, and `--replay` rebuilds the same database; ordered runs see exactly the samples
more than the window back; backpressure drops nothing; an async run resumes."""
import json
import threading
import time
from pathlib import Path

import pytest

from funsearch.config import make_config
from funsearch.cost.hardware import load_hardware
from funsearch.cost.roofline import sample_cost
from funsearch.orchestrator import run_search
from funsearch.orchestrator.schedule import Async, Ordered, Replay
from funsearch.proposers.base import SamplingParams
from funsearch.proposers.simulated import Entry, LatencyModel, SimulatedProposer, last_parent_key
from funsearch.store.run_store import RunStore
from funsearch.weights.registry import resolve_model

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "bin_packing.py"


def texts(distinct: int, copies: int) -> list[str]:
    """Body-only completions: `distinct` different programs, each also repeated `copies` times later on."""
    own = [f"    return -(bins - item) + {k / 1000:.3f} * (bins == bins.max())\n" for k in range(distinct)]
    return own + own * copies


def simulated(tmp_path, **overrides):
    source = tmp_path / "completions.json"
    source.write_text(json.dumps(texts(24, 3)))
    fields = dict(problem=str(PROBLEM), backend="simulated", simulated_from=str(source), hardware="h100",
                  engine_batch=8, in_flight=8, samples=96, seed=4, islands=3, eval_timeout=5.0, heldout=False,
                  checkpoint_every=16)
    fields.update(overrides)
    return make_config(**fields)


def read(run_dir):
    store = RunStore(run_dir)
    try:
        return (store.samples(), store.programs(), store.evaluations(), store.latest_checkpoint(),
                store.meta("utilisation"), store.meta("simulated"))
    finally:
        store.close()


# --- schedules (pure) -----------------------------------------------------------------------------------------
def test_ordered_draws_see_exactly_the_samples_beyond_the_window():
    s = Ordered(window=2)
    assert s.may_draw(2, 0) and not s.may_draw(3, 0)
    s.mark_ready([1, 0])
    assert s.next(0, next_sample=2, stopping=False) is None  # 0 may register only once sample 2 is drawn
    assert s.next(0, next_sample=3, stopping=False) == 0
    s.take(0)
    assert s.next(1, next_sample=3, stopping=False) is None and s.next(1, next_sample=3, stopping=True) == 1


def test_async_registers_in_arrival_order_and_replay_in_the_recorded_one():
    a = Async(window=4)
    a.mark_ready([5])
    a.mark_ready([3, 2])
    assert a.next(0, 6, False) == 5
    log = [(0, 0, 1), (1, 0, 0), (2, 1, 2), (3, 2, None)]  # (sample, drawn_after, registered_seq)
    r = Replay(window=4, log=log)
    assert r.order == [1, 0, 2, 3]
    assert r.may_draw(2, 1) and not r.may_draw(2, 0) and not r.may_draw(3, 1)
    r.mark_ready([0, 1])
    assert r.next(0, next_sample=2, stopping=False) == 1
    r.take(1)
    assert r.next(1, next_sample=2, stopping=False) is None  # sample 2 was drawn after one registration
    assert r.next(1, next_sample=3, stopping=False) == 0


# --- the simulated engine ---------------------------------------------------------------------------------------
def test_simulated_latencies_come_from_the_roofline_and_the_batch_is_respected():
    spec, hw = resolve_model("small"), load_hardware().get("h100")
    model = LatencyModel(spec, hw)
    assert model.seconds(300, 100, 4) == sample_cost(spec, hw, 300, 100, batch=4).seconds
    scale = 0.5 / model.seconds(36, 100, 2)  # the test runs latencies stretched to 0.5 s
    engine = SimulatedProposer("small", [Entry("x", 100)], model, batch=2, chars_per_token=1.0, time_scale=scale)
    results, t0 = [], time.monotonic()
    threads = [threading.Thread(target=lambda k=k: results.append(engine.complete("p" * 36, SamplingParams(seed=k))))
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    stats = engine.stats()
    assert stats["requests"] == 4 and stats["max_active"] == 2 and stats["max_queued"] >= 1
    assert 0.85 <= wall <= 2.5  # two rounds of two sequences, 0.5 s each (the first may run alone: faster)
    shares = [model.seconds(36, 100, k) * scale / k for k in (1, 2)]  # its latency over the sequences beside it
    for (c,) in results:
        assert c.usage.prompt_tokens == 36 and c.usage.completion_tokens == 100 and c.extra == {"simulated": True}
        assert any(c.usage.busy_seconds == pytest.approx(v, rel=1e-6) for v in shares)


def test_simulated_answers_a_prompt_with_what_its_last_parent_got():
    parent = "def priority_v0(item, bins):\n    return -(bins - item)\n"
    prompt = parent + "\n\n\ndef priority_v1(item, bins):\n    \"\"\"Improved version of `priority_v0`.\"\"\"\n"
    key = last_parent_key(prompt)
    assert key is not None and key == last_parent_key(prompt.replace("-(bins - item)", "-(bins  -  item)"))
    entries = [Entry("child of v0", 5, key), Entry("unrelated", 5, "other")]
    engine = SimulatedProposer("small", entries, LatencyModel(resolve_model("small"), load_hardware().get("h100")),
                               time_scale=0.0)
    assert {engine.choose(prompt, seed)[0].text for seed in range(20)} == {"child of v0"}
    assert engine.choose("no parents here", 1) == engine.choose("no parents here", 1)  # seeded


# --- runs -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def async_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("async")
    cfg = simulated(tmp, registration="async", eval_queue=3)
    summary = run_search(cfg, tmp / "run", echo=lambda line: None)
    return cfg, tmp / "run", summary


def test_async_registers_every_sample_once_within_bounds(async_run):
    cfg, run_dir, summary = async_run
    samples, programs, evaluations, checkpoint, util, sim = read(run_dir)
    assert summary.stop_reason == "samples" and [s["id"] for s in samples] == list(range(96))
    assert sorted(s["registered_seq"] for s in samples) == list(range(96))  # each registered exactly once
    assert all(s["staleness"] is not None and s["drawn_after"] is not None for s in samples)
    assert util["registration"] == "async" and util["window"] == 8
    assert util["peak_outstanding"] <= 8 + 1 and util["peak_eval_queue"] <= 3  # bounded
    evaluated = [e["program_hash"] for e in evaluations if e["sample_id"] >= 0]
    assert len(set(evaluated)) == len(evaluated) == len({s["program_hash"] for s in samples})  # each program once
    for h in set(evaluated):  # nothing dropped: one sample registered each program, the others are its copies
        assert [s["failure"] == "duplicate" for s in samples if s["program_hash"] == h].count(False) == 1
    assert sim == {"from": cfg.simulated_from, "hardware": "h100", "batch": 8, "sizes": ["small"]}
    assert checkpoint.extra["registered"] == 96 and checkpoint.extra["mode"] == "async"


def test_async_run_replays_to_the_same_database(async_run, tmp_path):
    cfg, run_dir, summary = async_run
    replayed = run_search(cfg, tmp_path / "replay", replay_from=run_dir, echo=lambda line: None)
    a, b = read(run_dir), read(tmp_path / "replay")
    assert b[3].database == a[3].database  # the ProgramDatabase snapshots (records, islands, rng, steering)
    key = lambda s: (s["id"], s["prompt"], s["completion"], s["registered_seq"], s["drawn_after"], s["staleness"],
                     s["failure"])
    assert [key(s) for s in a[0]] == [key(s) for s in b[0]]
    assert [(p["id"], p["sample_id"], p["hash"]) for p in a[1]] == [(p["id"], p["sample_id"], p["hash"]) for p in b[1]]
    assert replayed.best_score == summary.best_score and replayed.stop_reason == "replay-exhausted"


def test_ordered_prompts_see_exactly_the_samples_beyond_the_window(tmp_path):
    run_search(simulated(tmp_path, registration="ordered", in_flight=4, samples=40), tmp_path / "run",
               echo=lambda line: None)
    samples, _, _, _, util, _ = read(tmp_path / "run")
    assert util["window"] == 4 and [s["registered_seq"] for s in samples] == list(range(40))
    assert [s["drawn_after"] for s in samples] == [max(0, k - 4) for k in range(40)]


def test_async_run_resumes_registering_each_sample_once(tmp_path):
    run_search(simulated(tmp_path, registration="async", samples=40), tmp_path / "run", echo=lambda line: None)
    run_search(simulated(tmp_path, registration="async", samples=72), tmp_path / "run", resume=True,
               echo=lambda line: None)
    samples, programs, evaluations, _, _, _ = read(tmp_path / "run")
    assert [s["id"] for s in samples] == list(range(72))
    assert sorted(s["registered_seq"] for s in samples) == list(range(72))
    assert len({p["hash"] for p in programs}) == len(programs)
    assert len({e["program_hash"] for e in evaluations}) == len(evaluations)
