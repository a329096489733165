"""Adaptive sweeps: P(argmax), the run-curve posterior, information gain, the next size, stopping (pure, fast)."""
import math
from dataclasses import replace

import numpy as np
import pytest

from funsearch.study import adaptive
from funsearch.study.adaptive_sweep import minimum_runs, next_seed


def test_prob_max_matches_monte_carlo_normal_and_t():
    mean, var = np.array([0.0, 0.5, 1.0]), np.array([1.0, 1.0, 0.25])
    rng = np.random.default_rng(0)
    for df in (math.inf, 3.0):
        draws = mean + np.sqrt(var) * (rng.standard_normal((200_000, 3)) if df == math.inf
                                       else rng.standard_t(df, (200_000, 3)))
        mc = np.bincount(draws.argmax(axis=1), minlength=3) / len(draws)
        p = adaptive.prob_max(mean, var, df)
        assert p == pytest.approx(mc, abs=0.006)
        assert p.sum() == pytest.approx(1.0)
    assert adaptive.prob_max([1.0, 1.0], [1.0, 1.0]) == pytest.approx([0.5, 0.5], abs=1e-6)
    assert adaptive.prob_max([0.0, 10.0], [0.01, 0.01]) == pytest.approx([0.0, 1.0], abs=1e-6)


def test_prob_max_resolves_a_narrow_density_beside_a_wide_one():
    # X0 ~ N(0, 1e-6), about the constant 0, against N(0, 1)s: P(X0 max) = P(both others < 0) = 1/4
    assert adaptive.prob_max([0.0, 0.0], [1e-6, 1.0]) == pytest.approx([0.5, 0.5], abs=0.01)
    assert adaptive.prob_max([0.0, 0.0, 0.0], [1e-6, 1.0, 1.0]) == pytest.approx([0.25, 0.375, 0.375], abs=0.01)


def test_prob_max_batched_equals_single():
    means = np.array([[0.0, 1.0], [1.0, 0.0]])
    batched = adaptive.prob_max(means, np.ones((2, 2)), 4.0)
    assert batched[0] == pytest.approx(adaptive.prob_max(means[0], [1.0, 1.0], 4.0))
    assert batched[1] == pytest.approx(batched[0][::-1])


def test_posterior_counts_a_run_curve_as_one_draw():
    runs = {"a": [[1.0, 2.0], [1.2, 2.2]], "b": [[3.0, 5.0], [3.4, 5.4], [3.2]]}
    post = adaptive.fit_posterior(runs, ["a", "b"], [1.0, 2.0], prior_scale=0.1, prior_n=1)
    assert list(post.runs) == [2, 3]
    assert post.n.tolist() == [[2, 2], [3, 2]]
    assert post.mean[:, 0] == pytest.approx([1.1, 3.2]) and post.mean[:, 1] == pytest.approx([2.1, 5.2])
    # residual SS 0.10 at either budget, over 3 and 2 cell dof: pooled 0.2 / 5 = 0.04, budget shares (smoothed
    # with 2 pseudo-dof towards 1) (3 x 0.0333 / 0.04 + 2) / 5 = 0.9 and (2 x 0.05 / 0.04 + 2) / 4 = 1.125.
    # The runs give only (2-1) + (3-1) = 3 degrees of freedom: sigma^2 = (1 x 0.1^2 + 3 x 0.04) / 4 = 0.0325
    assert post.df == pytest.approx(4.0)
    assert post.sigma2 == pytest.approx([0.0325 * 0.9, 0.0325 * 1.125])
    assert post.scale[1, 0] == pytest.approx(math.sqrt(0.0325 * 0.9 / 3))
    assert post.scale[1, 1] == pytest.approx(math.sqrt(0.0325 * 1.125 / 2))
    assert post.rho == pytest.approx(1.0)                 # every run's residual has the same sign at both budgets
    assert post.answer()[1][0] == "b" and post.answer()[1][1] > 0.99


def test_posterior_gives_unobserved_cells_a_wide_scale():
    post = adaptive.fit_posterior({"a": [[0.0, 1.0], [0.1, 1.1]]}, ["a", "b"], [1.0, 2.0])
    assert post.n[1].tolist() == [0, 0]
    assert (post.scale[1] > 5 * post.scale[0]).all()
    assert post.confidence() < 0.7
    assert adaptive.should_stop(post, 0.6, max_runs=10) is None


def test_few_runs_give_heavy_tails_and_less_confidence():
    """Same means and spread: two runs per size are less conclusive than five (Student-t with fewer dof)."""
    def post_of(k):
        offsets = np.linspace(-1, 1, k) * 0.1
        return adaptive.fit_posterior({"a": [[0.0 + o] for o in offsets], "b": [[0.15 + o] for o in offsets]},
                                      ["a", "b"], [1.0], prior_scale=0.1)
    two, five = post_of(2), post_of(5)
    assert two.df < five.df
    assert two.confidence() < five.confidence()
    normal = adaptive.prob_max(two.mean[:, 0], two.scale[:, 0] ** 2)
    assert two.prob_best()[1, 0] < normal[1]


def test_minimum_runs_come_first_then_gain():
    post = adaptive.fit_posterior({"a": [[0.0], [0.1]], "b": [[0.05]]}, ["a", "b", "c"], [1.0])
    first = adaptive.choose_next(post)
    assert (first.size, first.reason) == ("c", "minimum")   # fewest runs first
    assert minimum_runs({"a": 2, "b": 1, "c": 0}, ["a", "b", "c"], room=10) == ["b", "c", "c"]
    assert minimum_runs({"a": 0, "b": 0}, ["a", "b"], room=3) == ["a", "b", "a"]


def test_gain_goes_to_the_close_contest_not_the_dominated_size():
    # b and c are close at both budgets, a is far behind everywhere: a is out of play and gets nothing
    rng = np.random.default_rng(1)
    runs = {s: [list(m + 0.1 * rng.standard_normal(2)) for _ in range(3)] for s, m in
            (("a", np.array([0.0, 0.0])), ("b", np.array([1.0, 1.2])), ("c", np.array([1.05, 1.15])))}
    post = adaptive.fit_posterior(runs, ["a", "b", "c"], [1.0, 2.0])
    assert adaptive.in_play(post) == [1, 2]
    choice = adaptive.choose_next(post)
    assert choice.reason == "gain" and choice.size in ("b", "c") and set(choice.gains) == {"b", "c"}
    assert adaptive.cell_gain(post, 0, 0) < 0.01 < adaptive.cell_gain(post, 1, 0)


def test_gain_prefers_the_less_measured_of_two_rivals():
    base = {"a": [[0.0], [0.2]], "b": [[0.1], [0.3]]}
    more_b = {"a": base["a"], "b": base["b"] + [[0.1], [0.3], [0.1], [0.3]]}
    post = adaptive.fit_posterior(more_b, ["a", "b"], [1.0], prior_scale=0.1)
    assert adaptive.choose_next(post).size == "a"


def test_target_discounts_settled_budgets():
    # budget 0: a vs b tight; budget 1: b far ahead. Without a target, b's extra run also "informs" budget 1
    runs = {"a": [[0.0, 0.0], [0.1, 0.1]], "b": [[0.02, 2.0], [0.12, 2.1]]}
    post = adaptive.fit_posterior(runs, ["a", "b"], [1.0, 2.0], prior_scale=0.05)
    w = adaptive.choose_next(post, target=0.9).gains
    assert set(w) == {"a", "b"} and all(g > 0 for g in w.values())
    assert w["b"] == pytest.approx(adaptive.cell_gain(post, 1, 0) + 0.1 * adaptive.cell_gain(post, 1, 1))


def test_stopping_needs_the_minimum_runs_and_the_target():
    clear = adaptive.fit_posterior({"a": [[0.0], [0.01]], "b": [[5.0], [5.01]]}, ["a", "b"], [1.0])
    assert adaptive.should_stop(clear, 0.9, max_runs=10) == "confident"
    one_each = adaptive.fit_posterior({"a": [[0.0]], "b": [[5.0]]}, ["a", "b"], [1.0])
    assert adaptive.should_stop(one_each, 0.5, max_runs=10) is None
    tied = adaptive.fit_posterior({"a": [[0.0], [1.0]], "b": [[0.0], [1.0]]}, ["a", "b"], [1.0])
    assert adaptive.should_stop(tied, 0.9, max_runs=10) is None
    assert adaptive.should_stop(tied, 0.9, max_runs=4) == "max-runs"
    assert adaptive.should_stop(replace(clear, runs=np.array([2, 1])), 0.9, max_runs=10) is None


def test_adaptive_reaches_the_grids_answer_with_fewer_runs_when_a_size_is_dominated():
    """A seeded simulated sweep: large is worse everywhere, small and mid cross. Same runs for both modes."""
    table = {"small": (0.6, 0.8, 0.9, 0.95), "mid": (0.4, 0.7, 1.0, 1.1), "large": (0.1, 0.3, 0.5, 0.6)}
    sizes, budgets = tuple(table), (1.0, 2.0, 4.0, 8.0)

    def run(size, k):
        rng = np.random.default_rng((sizes.index(size), k))
        return list(np.asarray(table[size]) + 0.08 * (0.7 * rng.standard_normal() + 0.71 * rng.standard_normal(4)))

    def post_of(counts):
        return adaptive.fit_posterior({s: [run(s, k) for k in range(n)] for s, n in counts.items()}, sizes, budgets)

    grid = post_of(dict.fromkeys(sizes, 5))
    counts = dict.fromkeys(sizes, 0)
    while not adaptive.should_stop(post := post_of(counts), grid.confidence(), max_runs=30):
        counts[adaptive.choose_next(post, target=grid.confidence()).size] += 1
    assert [s for s, _ in post.answer()] == [s for s, _ in grid.answer()] == ["small", "small", "mid", "mid"]
    assert post.confidence() >= grid.confidence()
    assert counts["large"] == adaptive.MIN_RUNS
    assert sum(counts.values()) < 15


def test_sweep_helpers():
    assert next_seed({0, 1}, (0, 1, 2)) == 2
    assert next_seed({0, 1, 2, 3}, (0, 1, 2)) == 4
    assert next_seed(set(), (5, 7)) == 5
    rows = [{"cell": "x", "size": "a", "budget": "$1", "score": 1.0},
            {"cell": "x", "size": "a", "budget": "$2", "score": 2.0},
            {"cell": "y", "size": "b", "budget": "$1", "score": 0.5},
            {"cell": "z", "size": "a", "budget": "$9", "score": 9.0}]
    assert adaptive.run_curves(rows, ("$1", "$2")) == {"a": [[1.0, 2.0]], "b": [[0.5]]}
