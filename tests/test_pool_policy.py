"""Pool policies: fixed shares and the cost-aware bandit in a simulated environment."""
import json
import random

import pytest

from funsearch.search.pool_policy import CostAwareBandit, FixedShares, PolicyError, policy_from_dict


def simulate(policy, env, steps, seed):
    """env: size -> (cost per sample, probability a sample improves the best score by 1.0)."""
    rng = random.Random(seed)
    picks = []
    for _ in range(steps):
        size = policy.choose()
        cost, p = env[size]
        policy.update(size, 1.0 if rng.random() < p else 0.0, cost)
        picks.append(size)
    return picks


def test_fixed_shares_interleave_exactly():
    p = FixedShares({"small": 3.0, "mid": 1.0})
    picks = [p.choose() for _ in range(8)]
    # shares 0.75 / 0.25: 6 small, 2 mid, mid at positions 2 and 6 (credit reaches 1.0 every 4 picks)
    assert picks == ["small", "small", "mid", "small", "small", "small", "mid", "small"]


def mean_share(env, size, runs=20, steps=400):
    """Share of `size` among picks, averaged over `runs` seeded runs (one run alone wanders when arms tie)."""
    shares = []
    for seed in range(runs):
        picks = simulate(CostAwareBandit(list(env), seed=seed), env, steps, seed=1000 + seed)
        shares.append(picks.count(size) / steps)
    return sum(shares) / runs


def test_bandit_prefers_more_improvement_per_cost():
    # small: cost 1, p 0.2 -> 0.2 per unit cost; mid: cost 4, p 0.2 -> 0.05 per unit cost (4x worse)
    assert mean_share({"small": (1.0, 0.2), "mid": (4.0, 0.2)}, "small") > 0.6
    b = CostAwareBandit(["small", "mid"], seed=7)
    picks = simulate(b, {"small": (1.0, 0.2), "mid": (4.0, 0.2)}, 400, seed=11)
    assert picks.count("small") / 400 > 0.6
    st = b.stats()
    assert st["small"]["samples"] == picks.count("small") and st["small"]["cost"] == picks.count("small") * 1.0
    assert st["small"]["rate"] > st["mid"]["rate"]


def test_bandit_stays_mixed_when_yields_per_cost_are_equal():
    # the same criterion fails when the sizes are equal per unit cost: small cost 1 p 0.1, mid cost 2 p 0.2
    share = mean_share({"small": (1.0, 0.1), "mid": (2.0, 0.2)}, "small")
    assert not share > 0.6
    assert 0.35 < share < 0.65


def test_bandit_reverses_when_the_large_size_is_better():
    b = CostAwareBandit(["small", "mid"], seed=3)
    picks = simulate(b, {"small": (1.0, 0.02), "mid": (2.0, 0.3)}, 400, seed=5)   # 0.02 vs 0.15 per unit cost
    assert picks.count("mid") / len(picks) > 0.6


def test_bandit_is_reproducible_and_resumes(tmp_path):
    env = {"small": (1.0, 0.2), "mid": (4.0, 0.2)}
    a = CostAwareBandit(["small", "mid"], seed=1)
    first = simulate(a, env, 50, seed=2)
    saved = json.loads(json.dumps(a.to_dict()))
    rest_a = [a.choose() for _ in range(30)]
    b = policy_from_dict(saved)
    assert b.stats() == saved["stats"]
    assert [b.choose() for _ in range(30)] == rest_a
    again = simulate(CostAwareBandit(["small", "mid"], seed=1), env, 50, seed=2)
    assert again == first


def test_fixed_shares_resume():
    p = FixedShares({"a": 1.0, "b": 2.0})
    [p.choose() for _ in range(4)]
    q = policy_from_dict(json.loads(json.dumps(p.to_dict())))
    assert [q.choose() for _ in range(6)] == [p.choose() for _ in range(6)]


def test_warmup_tries_every_size_first():
    b = CostAwareBandit(["a", "b", "c"], seed=0, warmup=2)
    picks = []
    for _ in range(6):
        picks.append(b.choose())
        b.update(picks[-1], 0.0, 1.0)
    assert picks == ["a", "a", "b", "b", "c", "c"]


def test_errors_are_one_line():
    with pytest.raises(PolicyError, match=r"^unknown size 'xl'; the pool has: small, mid$"):
        CostAwareBandit(["small", "mid"]).update("xl", 0.0, 1.0)
    with pytest.raises(PolicyError, match=r"^improvement and cost must be >= 0, got -1.0 and 1.0$"):
        FixedShares({"a": 1.0}).update("a", -1.0, 1.0)
    with pytest.raises(PolicyError, match=r"^unknown pool policy kind 'x'; expected 'fixed' or 'bandit'$"):
        policy_from_dict({"kind": "x"})
