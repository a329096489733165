"""Adaptive point selection: P(argmax), posterior, information gain, next run and stopping rule (pure, fast)."""
import numpy as np
import pytest

from funsearch import adaptive


def test_prob_max_matches_monte_carlo():
    mean, var = np.array([0.0, 0.5, 1.0]), np.array([1.0, 1.0, 0.25])
    p = adaptive.prob_max(mean, var)
    draws = np.random.default_rng(0).normal(mean, np.sqrt(var), size=(200_000, 3))
    mc = np.bincount(draws.argmax(axis=1), minlength=3) / len(draws)
    assert p == pytest.approx(mc, abs=0.01)
    assert p.sum() == pytest.approx(1.0)
    assert adaptive.prob_max([1.0, 1.0], [1.0, 1.0]) == pytest.approx([0.5, 0.5], abs=1e-6)
    assert adaptive.prob_max([0.0, 10.0], [0.01, 0.01]) == pytest.approx([0.0, 1.0], abs=1e-6)


def test_prob_max_batched_equals_single():
    means = np.array([[0.0, 1.0], [1.0, 0.0]])
    batched = adaptive.prob_max(means, np.ones((2, 2)))
    assert batched[0] == pytest.approx(adaptive.prob_max(means[0], [1.0, 1.0]))
    assert batched[1] == pytest.approx(batched[0][::-1])


def test_posterior_pools_noise_and_fills_empty_cells():
    obs = {("small", 0): [1.0, 1.2], ("small", 1): [2.0, 2.2], ("mid", 1): [3.0]}
    post = adaptive.fit_posterior(obs, ["small", "mid"], [1.0, 2.0], prior_scale=0.1, prior_n=2)
    # within-cell SS = 0.02 + 0.02 over 2 dof, prior 2 x 0.01: sigma^2 = (0.02 + 0.04) / 4
    assert post.sigma2 == pytest.approx(0.015)
    assert post.mean[0] == pytest.approx([1.1, 2.1])
    assert post.var[0] == pytest.approx([0.0075, 0.0075])
    assert post.var[1, 1] == pytest.approx(0.015)
    assert post.n[1, 0] == 0 and post.var[1, 0] > post.var[0, 0]
    assert post.answer()[1][0] == "mid" and post.answer()[1][1] > 0.99


def test_gain_is_largest_where_the_answer_is_uncertain():
    obs = {("a", 0): [0.0, 0.1], ("b", 0): [0.05, 0.0], ("a", 1): [0.0, 0.1], ("b", 1): [5.0, 5.1]}
    post = adaptive.fit_posterior(obs, ["a", "b"], [1.0, 2.0])
    assert adaptive.cell_gain(post, 0, 0) > 10 * adaptive.cell_gain(post, 0, 1)
    choice = adaptive.choose_next(post)
    assert choice.budget_index == 0 and choice.gain > 0      # budget 1 is settled: spend on the cheap budget 0


def test_choice_weighs_gain_against_cost():
    obs = {(s, j): [v, v + 0.2] for s, v in (("a", 0.0), ("b", 0.1)) for j in range(2)}
    post = adaptive.fit_posterior(obs, ["a", "b"], [1.0, 2.0])
    # both budgets equally uncertain: a run to budget 1 informs both for twice the cost of a run to budget 0
    cheap = adaptive.choose_next(post)
    assert cheap.gain_per_cost == pytest.approx(max(cheap.gain, 0) / (1.0 if cheap.budget_index == 0 else 2.0))
    costly = adaptive.choose_next(post, overhead=100.0)    # a large fixed cost per run: go to the largest budget
    assert costly.budget_index == 1


def test_initial_design_and_stopping():
    assert adaptive.initial_design(["a", "b"], [1, 2, 4]) == [("a", 2), ("b", 2)]
    clear = adaptive.fit_posterior({("a", 0): [0.0, 0.01], ("b", 0): [5.0, 5.01]}, ["a", "b"], [1.0])
    assert adaptive.should_stop(clear, 0.9, runs=4, max_runs=10) == "confident"
    tied = adaptive.fit_posterior({("a", 0): [0.0, 1.0], ("b", 0): [0.0, 1.0]}, ["a", "b"], [1.0])
    assert adaptive.should_stop(tied, 0.9, runs=4, max_runs=10) is None
    assert adaptive.should_stop(tied, 0.9, runs=10, max_runs=10) == "max-runs"
    unseen = adaptive.fit_posterior({("a", 0): [0.0, 0.01]}, ["a", "b"], [1.0])
    assert adaptive.should_stop(unseen, 0.5, runs=1, max_runs=10) is None


def test_target_discounts_budgets_already_settled():
    obs = {("a", 0): [0.0, 0.1], ("b", 0): [0.05, 0.0], ("a", 1): [0.0, 0.1], ("b", 1): [0.1, 0.2]}
    post = adaptive.fit_posterior(obs, ["a", "b"], [1.0, 2.0])
    assert post.prob_best()[:, 1].max() >= 0.9 > post.prob_best()[:, 0].max()
    # with a large fixed cost per run, plain gain goes on to the (nearly settled) budget 1 ...
    assert adaptive.choose_next(post, overhead=10.0).budget_index == 1
    # ... but with the target, budget 1's information counts a tenth and the short run wins
    assert adaptive.choose_next(post, overhead=10.0, target=0.9).budget_index == 0
