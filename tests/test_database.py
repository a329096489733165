"""search.database: islands, clusters, temperature sampling, resets, dedupe, serialisation."""
import json
import math
import random
from collections import Counter

import pytest

from funsearch.program.canonical import program_hash
from funsearch.search.database import DatabaseConfig, ProgramDatabase


def prog(tag, padding=0):
    return f"def priority(item, bins):\n    return -bins * {tag}{' + 0' * padding}\n"


def grow(db, steps, seed=0, distinct=30):
    """Interleave sample/register like the orchestrator does."""
    rng = random.Random(seed)
    for n in range(steps):
        request = db.sample()
        score = rng.randrange(distinct) / distinct
        db.register(prog(rng.randrange(10 * distinct)), (score, 1 - score), score, request.island,
                    sample_id=n, meta={"parents": [p.id for p in request.parents]})


def frequencies(draws):
    counts = Counter(draws)
    return {key: counts[key] / len(draws) for key in counts}


def test_same_seed_same_choices_and_different_seed_differs():
    runs = []
    for seed in (7, 7, 8):
        db = ProgramDatabase(DatabaseConfig(islands=3, reset_period=25), seed)
        db.register(prog(0), (0.0,), 0.0)
        grow(db, 200)
        runs.append([(r.island, tuple(p.id for p in r.parents)) for r in (db.sample() for _ in range(50))])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_cluster_softmax_prefers_better_clusters():
    db = ProgramDatabase(DatabaseConfig(islands=1, functions_per_prompt=1, cluster_temperature_init=1.0), 3)
    for tag, score in [(1, -30.0), (2, -20.0), (3, -10.0)]:
        db.register(prog(tag), (score,), score, 0)
    freq = frequencies([db.sample().parents[0].score for _ in range(4000)])
    weights = [math.exp(x) for x in (0.0, 0.5, 1.0)]               # normalised scores 0, 0.5, 1 at T = 1
    for score, w in zip((-30.0, -20.0, -10.0), weights):
        assert freq[score] == pytest.approx(w / sum(weights), abs=0.03)


def test_low_temperature_picks_the_best_clusters_in_ascending_order():
    db = ProgramDatabase(DatabaseConfig(islands=1, cluster_temperature_init=1e-6), 0)
    for tag in range(10):
        db.register(prog(tag), (float(tag),), float(tag), 0)
    for _ in range(50):
        assert [p.score for p in db.sample().parents] == [8.0, 9.0]


def test_parents_are_distinct_clusters_in_ascending_score():
    db = ProgramDatabase(DatabaseConfig(islands=1, functions_per_prompt=3, cluster_temperature_init=10.0), 1)
    for tag in range(6):
        db.register(prog(tag), (float(tag % 4),), float(tag % 4), 0)
    seen = set()
    for _ in range(300):
        scores = [p.score for p in db.sample().parents]
        assert len(scores) == 3 and scores == sorted(set(scores))
        seen.add(tuple(scores))
    assert len(seen) == 4                                            # all 4 choose 3 subsets occur


def test_fewer_clusters_than_k_gives_fewer_parents():
    db = ProgramDatabase(DatabaseConfig(islands=2, functions_per_prompt=2), 0)
    db.register(prog(0), (1.0,), 1.0)
    request = db.sample()
    assert [p.id for p in request.parents] == [0] and request.request_id == 0
    assert db.sample().request_id == 1


def test_shorter_programs_preferred_within_a_cluster():
    db = ProgramDatabase(DatabaseConfig(islands=1, functions_per_prompt=1), 5)
    records = [db.register(prog(tag, padding=2 * tag), (1.0, 2.0), 1.5, 0) for tag in (1, 2, 3)]
    lengths = [r.length for r in records]
    assert lengths[0] < lengths[1] < lengths[2] and lengths[1] - lengths[0] == lengths[2] - lengths[1]
    freq = frequencies([db.sample().parents[0].id for _ in range(4000)])
    weights = [math.exp(-x) for x in (0.0, 0.5, 1.0)]
    for r, w in zip(records, weights):
        assert freq[r.id] == pytest.approx(w / sum(weights), abs=0.03)


def test_temperature_decays_with_the_island_sample_count():
    config = DatabaseConfig(islands=2, cluster_temperature_init=0.2, cluster_temperature_period=10,
                            temperature_steps=10, reset_period=10**6)
    db = ProgramDatabase(config, 0)
    db.register(prog(0), (0.0,), 0.0)                               # counts once on every island
    for n in range(4):
        db.register(prog(n + 1), (float(n),), float(n), 0)
    assert db.temperature(0) == pytest.approx(0.2 * (1 - 5 / 10))
    assert db.temperature(1) == pytest.approx(0.2 * (1 - 1 / 10))
    for n in range(5):
        db.register(prog(n + 10), (float(n),), float(n), 0)
    assert db.temperature(0) == pytest.approx(0.2)                  # period wrapped


def test_reset_of_the_weaker_half_is_triggered_by_sample_count():
    db = ProgramDatabase(DatabaseConfig(islands=4, reset_period=4), 2)
    db.register(prog(0), (0.0,), 0.0)                               # baseline: not a sample
    for island, score in [(0, 10.0), (1, 9.0), (2, 1.0)]:
        db.register(prog(int(score)), (score,), score, island)
    assert db.stats()["resets"] == 0
    assert [s["programs"] for s in db.stats()["islands"]] == [2, 2, 2, 1]
    db.register(prog(2), (2.0,), 2.0, 3)                            # 4th registered sample
    stats = db.stats()
    assert stats["resets"] == 1
    assert [s["programs"] for s in stats["islands"]] == [2, 2, 1, 1]
    assert {db.best_per_island()[i].score for i in (2, 3)} <= {10.0, 9.0}
    assert stats["islands"][2]["samples"] == 0                      # temperature schedule restarts
    assert db.best().score == 10.0 and db.lookup(program_hash(prog(1))).score == 1.0


def test_one_island_never_resets():
    solo = ProgramDatabase(DatabaseConfig(islands=1, reset_period=1), 0)
    for n in range(5):
        solo.register(prog(n), (float(n),), float(n), 0)
    assert solo.stats()["resets"] == 0 and solo.stats()["islands"][0]["programs"] == 5


def test_reset_ties_are_broken_by_the_seeded_rng():
    kept = set()
    for seed in range(20):
        db = ProgramDatabase(DatabaseConfig(islands=2, reset_period=2), seed)
        db.register(prog(1), (1.0,), 1.0, 0)
        db.register(prog(2), (1.0,), 1.0, 1)                         # equal bests; 2nd sample resets one
        assert db.stats()["resets"] == 1
        kept.add(tuple(r.id for r in db.best_per_island()))
    assert kept == {(0, 0), (1, 1)}                                  # either island may lose, by seed


def test_dedupe_lookup_and_duplicate_count():
    db = ProgramDatabase(DatabaseConfig(islands=2), 0)
    first = db.register(prog(1), (1.0,), 1.0, 0, sample_id="s1")
    same = db.register("def priority(item, bins):\n    # same program\n    return -bins * 1\n", (1.0,), 1.0, 0)
    assert same is first and db.stats()["duplicates"] == 1 and db.stats()["programs"] == 1
    assert db.lookup(program_hash(prog(1))) is first and first.sample_id == "s1"
    assert db.lookup("0" * 64) is None
    other = db.register(prog(1), (1.0,), 1.0, 1)                     # known program, new island
    assert other.id == 1 and other.island == 1 and db.stats()["duplicates"] == 2
    assert [s["programs"] for s in db.stats()["islands"]] == [1, 1]
    assert db.lookup(first.hash) is first


def test_precomputed_hash_and_length_are_used():
    db = ProgramDatabase(DatabaseConfig(islands=1), 0)
    r = db.register(prog(1), (1.0,), 1.0, 0, program_hash="abc", length=7)
    assert (r.hash, r.length) == ("abc", 7) and db.lookup("abc") is r


def test_best_and_best_per_island():
    db = ProgramDatabase(DatabaseConfig(islands=3), 0)
    with pytest.raises(ValueError, match="the database is empty"):
        db.best()
    base = db.register(prog(0), (0.0,), 0.0)
    assert base.island is None and db.best_per_island() == (base, base, base)
    top = db.register(prog(5), (5.0,), 5.0, 1)
    db.register(prog(6), (5.0,), 5.0, 2)                             # tie: the earlier one stays best
    assert db.best() is top
    assert [r.score for r in db.best_per_island()] == [0.0, 5.0, 5.0]


def test_errors():
    db = ProgramDatabase(DatabaseConfig(islands=2), 0)
    with pytest.raises(ValueError, match="register the baseline program first"):
        db.sample()
    with pytest.raises(ValueError, match=r"island 2 is out of range \[0, 2\)"):
        db.register(prog(1), (1.0,), 1.0, 2)
    with pytest.raises(ValueError, match="must be finite"):
        db.register(prog(1), (1.0,), float("nan"), 0)
    with pytest.raises(ValueError, match="islands must be at least 1, got 0"):
        DatabaseConfig(islands=0)
    with pytest.raises(ValueError, match="cluster_temperature_init must be positive"):
        DatabaseConfig(cluster_temperature_init=0.0)
    with pytest.raises(ValueError, match="unknown database format"):
        ProgramDatabase.from_dict({"format": 99})
    assert DatabaseConfig(islands=4).samples_between_resets == 1000


def test_round_trip_continues_identically():
    config = DatabaseConfig(islands=4, reset_period=60, functions_per_prompt=2)
    a = ProgramDatabase(config, 11)
    a.register(prog(0), (0.0, 1.0), 0.5, meta={"baseline": True})
    grow(a, 80)
    b = ProgramDatabase.from_dict(json.loads(json.dumps(a.to_dict())))
    assert b.stats() == a.stats() and b.best() == a.best()
    assert b.best_per_island() == a.best_per_island()
    grow(a, 80, seed=5)
    grow(b, 80, seed=5)
    draws_a = [(r.island, [p.id for p in r.parents], r.request_id) for r in (a.sample() for _ in range(100))]
    draws_b = [(r.island, [p.id for p in r.parents], r.request_id) for r in (b.sample() for _ in range(100))]
    assert draws_a == draws_b
    assert a.to_dict() == b.to_dict()
    assert a.stats()["resets"] >= 2
