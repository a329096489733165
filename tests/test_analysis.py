"""Analysis: bootstrap CIs, best size with margin and posterior confidence, saturating fits and crossovers (pure, fast)."""
import numpy as np
import pytest

from funsearch.study import analysis, fitting


def rows_for(means: dict, budgets=(1.0, 2.0, 4.0, 8.0), seeds=(0, 1, 2), noise=0.0, problem="p", rng_seed=0):
    """Rows of a fake sweep: means[size](budget) plus seeded noise."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for size, f in means.items():
        for seed in seeds:
            for b in budgets:
                score = f(b) + noise * rng.standard_normal()
                rows.append({"problem": problem, "size": size, "mode": "evolve", "seed": seed, "budget": f"${b}",
                             "budget_amount": b, "score": score, "baseline_score": -10.0, "modelled_cost": b})
    return rows


def test_bootstrap_ci_contains_mean_and_is_seeded():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    mean, lo, hi = analysis.bootstrap_ci(values, seed=3)
    assert mean == pytest.approx(4.0)
    assert lo < mean < hi
    assert analysis.bootstrap_ci(values, seed=3) == (mean, lo, hi)
    assert analysis.bootstrap_ci([2.5]) == (2.5, 2.5, 2.5)
    wide = analysis.bootstrap_ci([0.0, 10.0, 0.0, 10.0], seed=1)
    narrow = analysis.bootstrap_ci([5.0, 5.1, 4.9, 5.0], seed=1)
    assert wide[2] - wide[1] > narrow[2] - narrow[1]
    with pytest.raises(ValueError):
        analysis.bootstrap_ci([])


def test_best_size_margin_and_confidence():
    rows = rows_for({"small": lambda b: -5.0, "mid": lambda b: -5.0 + (0.5 if b > 3 else -0.5)}, noise=0.05)
    answers = {a.budget_amount: a for a in analysis.best_sizes(rows)}
    assert [answers[b].best for b in (1.0, 2.0, 4.0, 8.0)] == ["small", "small", "mid", "mid"]
    assert answers[8.0].runner_up == "small"
    assert answers[8.0].margin == pytest.approx(0.5, abs=0.15)
    assert answers[8.0].confidence > 0.95
    assert sum(answers[1.0].prob_best.values()) == pytest.approx(1.0)


def test_confidence_is_low_when_sizes_tie():
    rows = rows_for({"small": lambda b: 0.0, "mid": lambda b: 0.0}, seeds=range(6), noise=1.0)
    for answer in analysis.best_sizes(rows):
        assert answer.confidence < 0.95


def test_a_size_tied_with_the_best_is_not_the_runner_up():
    rows = rows_for({"mid": lambda b: -2.0, "small": lambda b: -2.0, "mini": lambda b: -3.0}, budgets=(1.0,))
    (answer,) = analysis.best_sizes(rows)
    assert answer.best in ("mid", "small") and answer.runner_up == "mini" and answer.margin == pytest.approx(1.0)
    (all_tied,) = analysis.best_sizes(rows_for({"mid": lambda b: 1.0, "small": lambda b: 1.0}, budgets=(1.0,)))
    assert all_tied.runner_up is None and all_tied.margin == 0.0


def test_best_sizes_ignore_baselines_and_single_size_is_certain():
    rows = rows_for({"small": lambda b: 1.0})
    rows += [dict(r, mode="best_of_n", size="small", score=99.0) for r in rows]
    answers = analysis.best_sizes(rows)
    assert {a.best for a in answers} == {"small"}
    assert all(a.confidence == 1.0 and a.runner_up is None and a.margin == 0.0 for a in answers)
    assert all(a.means["small"] == pytest.approx(1.0) for a in answers)


def test_curves_group_by_mode_and_size():
    rows = rows_for({"small": lambda b: b}, seeds=(0, 1), noise=0.1)
    points = analysis.curves(rows)
    assert [p.budget_amount for p in points] == [1.0, 2.0, 4.0, 8.0]
    assert all(p.n == 2 and p.lo <= p.mean <= p.hi for p in points)
    assert points[-1].mean == pytest.approx(8.0, abs=0.3)


def test_improvement_per_cost():
    assert analysis.improvement_per_cost({"score": -8.0, "baseline_score": -10.0, "modelled_cost": 4.0}) == 0.5
    assert analysis.improvement_per_cost({"score": -8.0, "baseline_score": -10.0, "modelled_cost": 0.0}) is None


def test_fit_recovers_a_saturating_curve():
    truth = (2.0, 1.5, 0.7)
    budgets = np.geomspace(1, 64, 7)
    rows = rows_for({"s": lambda b: fitting.saturating(b / 64, *truth)}, budgets=budgets, seeds=range(4),
                    noise=0.01)
    fit = fitting.fits_by_size(rows, "p")["s"]
    assert fit.params == pytest.approx(truth, rel=0.1)
    assert fit.has_uncertainty and all(s < 0.2 for s in fit.stderr)
    assert fit(64.0) == pytest.approx(truth[0] - truth[1], abs=0.05)
    assert fit.rmse < 0.03


def test_fit_needs_three_budgets():
    assert fitting.fit_saturating([1, 1, 2, 2], [0.0, 0.1, 0.2, 0.3]) is None


def test_crossover_found_between_fitted_curves():
    # small: near its low ceiling early; mid: far below a higher ceiling. They cross beyond the data, at b ~ 125.
    small = (1.0, 0.3, 0.5)
    mid = (1.5, 1.0, 0.5)
    budgets = np.geomspace(1, 64, 8)
    rows = rows_for({"small": lambda b: fitting.saturating(b / 64, *small),
                     "mid": lambda b: fitting.saturating(b / 64, *mid)}, budgets=budgets, seeds=range(3),
                    noise=0.01)
    fits = fitting.fits_by_size(rows, "p")
    found = fitting.crossovers("p", fits, 0.5, 1000.0, seed=1)
    assert len(found) == 1
    c = found[0]
    from scipy.optimize import brentq
    exact = 64 * brentq(lambda x: fitting.saturating(x, *small) - fitting.saturating(x, *mid), 1.0, 10.0)
    assert exact == pytest.approx(125.4, rel=0.01)
    assert c.budget == pytest.approx(exact, rel=0.25)
    assert c.better_after == "mid"
    assert c.lo is not None and c.lo <= c.budget <= c.hi
    assert c.probability > 0.8


def test_no_crossover_when_one_curve_dominates():
    budgets = np.geomspace(1, 64, 6)
    rows = rows_for({"a": lambda b: fitting.saturating(b / 64, 2.0, 1.0, 0.5),
                     "b": lambda b: fitting.saturating(b / 64, 1.0, 1.0, 0.5)}, budgets=budgets, noise=0.01)
    assert fitting.crossovers("p", fitting.fits_by_size(rows, "p"), 0.5, 1000.0) == []


def test_flat_scores_are_not_fitted():
    from funsearch.study.fitting import fit_saturating

    assert fit_saturating([1.0, 2.0, 4.0, 8.0], [-51.9] * 4) is None


def test_with_two_seeds_the_posterior_is_calibrated_where_the_bootstrap_is_not():
    # sizes that truly tie: a calibrated P(leader is best) is about uniform on [0.5, 1], so it exceeds 0.9
    # in about 20 % of answers; the bootstrap of two seeds (three possible means) does so far more often
    over_post = over_boot = total = 0
    for world in range(40):
        rows = rows_for({"small": lambda b: 0.0, "mid": lambda b: 0.0}, seeds=(0, 1), noise=1.0, rng_seed=world)
        for answer in analysis.best_sizes(rows):
            over_post += answer.confidence > 0.9
            over_boot += answer.bootstrap[answer.best] > 0.9
            total += 1
    assert over_post / total < 0.3
    assert over_boot / total > 0.4


def test_identical_curves_do_not_cross_everywhere():
    from funsearch.study import fitting

    x, y = [1e-4, 2e-4, 4e-4, 8e-4], [-52.0, -51.9, -51.85, -51.84]
    fit = fitting.fit_saturating(x, y)
    assert fit is not None
    assert fitting.crossovers("p", {"a": fit, "b": fitting.fit_saturating(x, y)}, 1e-5, 1e-2) == []
