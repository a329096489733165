"""The evaluation cascade: no-op and clear-loser verdicts (pure), and staged evaluation in the real sandbox."""
from pathlib import Path

import pytest

from funsearch.problem.cascade import CascadeRule, ParentProbe
from funsearch.problem.evaluator import Evaluator
from funsearch.problem.loader import load_problem
from funsearch.records import EvalResult, FailureKind, InstanceOutcome

ROOT = Path(__file__).resolve().parents[1]
BEST_FIT = "def priority(item, bins):\n    return -(bins - item)\n"
SHIFTED = "def priority(item, bins):\n    return -(bins - item) + 3.0\n"          # same choices as best fit
FIRST_FIT = "def priority(item, bins):\n    return -np.arange(len(bins))\n"
WORST_FIT = "def priority(item, bins):\n    return bins - item\n"


def result(scores, fps):
    outcomes = tuple(InstanceOutcome(f"i{k}", s, fingerprint=f) for k, (s, f) in enumerate(zip(scores, fps)))
    return EvalResult(valid=True, score=sum(scores) / len(scores), per_instance=outcomes)


def test_verdict_noop_loser_and_continue():
    parent = ParentProbe(("a", "b"), (-10.0, -10.0))
    rule = CascadeRule(probe=2, parents=(parent,), margin=0.1)
    assert rule.verdict(result([-10.0, -10.0], ["a", "b"]))[0] is FailureKind.NOOP
    assert rule.verdict(result([-10.0, -10.0], ["a", "c"])) is None          # same scores, other outputs
    assert rule.verdict(result([-11.5, -10.0], ["x", "y"])) is None          # 7.5 % worse: within the margin
    assert rule.verdict(result([-12.5, -10.0], ["x", "y"]))[0] is FailureKind.CASCADE_STOP
    assert CascadeRule(probe=2, parents=(parent,), margin=None).verdict(result([-99.0, -99.0], ["x", "y"])) is None
    assert CascadeRule(probe=2, parents=(parent,), noop=False).verdict(result([-10.0, -10.0], ["a", "b"])) is None


def test_stages_only_with_parents_and_a_longer_split():
    parent = ParentProbe(("a",), (1.0,))
    assert CascadeRule(probe=1, parents=(parent,)).stages(5)
    assert not CascadeRule(probe=1, parents=()).stages(5)
    assert not CascadeRule(probe=5, parents=(parent,)).stages(5)
    assert not CascadeRule(probe=0, parents=(parent,)).stages(5)


@pytest.fixture(scope="module")
def evaluator():
    with Evaluator(load_problem(ROOT / "problems" / "bin_packing.py")) as ev:
        yield ev


def test_staged_evaluation_in_the_sandbox(evaluator):
    full = evaluator.evaluate(BEST_FIT)
    assert full.valid and all(len(fp) == 16 for fp in full.fingerprints)
    rule = CascadeRule(probe=3, parents=(ParentProbe.of(full, 3),), margin=0.0)

    noop = evaluator.evaluate(SHIFTED, cascade=rule)
    assert noop.failure is FailureKind.NOOP and not noop.valid and len(noop.per_instance) == 3

    loser = evaluator.evaluate(WORST_FIT, cascade=rule)
    assert loser.failure is FailureKind.CASCADE_STOP and len(loser.per_instance) == 3

    staged = evaluator.evaluate(FIRST_FIT, cascade=CascadeRule(probe=3, parents=rule.parents, margin=None))
    plain = evaluator.evaluate(FIRST_FIT)
    assert staged.valid and staged.score == plain.score and staged.metrics == plain.metrics
    assert staged.signature == plain.signature and staged.fingerprints == plain.fingerprints
    assert staged.score < full.score


def test_a_failing_probe_is_reported_as_such(evaluator):
    full = evaluator.evaluate(BEST_FIT)
    rule = CascadeRule(probe=3, parents=(ParentProbe.of(full, 3),))
    broken = evaluator.evaluate("def priority(item, bins):\n    raise ValueError('boom')\n", cascade=rule)
    assert broken.failure is FailureKind.RUNTIME_ERROR and "boom" in broken.message


def test_whole_split_noop_is_pure_and_needs_a_covered_split():
    parent = ParentProbe.of(result([256.0], ["a"]), 3)       # a one-instance split: the probe is all of it
    assert parent == ParentProbe(("a",), (256.0,))
    rule = CascadeRule(probe=3, parents=(parent,))
    assert not rule.stages(1)
    assert rule.whole_split_noop(result([256.0], ["a"]))[0] is FailureKind.NOOP
    assert rule.whole_split_noop(result([256.0], ["b"])) is None            # same score, other outputs
    assert CascadeRule(probe=3, parents=(parent,), noop=False).whole_split_noop(result([256.0], ["a"])) is None
    longer = CascadeRule(probe=1, parents=(parent,))                        # the staged path judges longer splits
    assert longer.whole_split_noop(result([256.0, 1.0], ["a", "c"])) is None


def test_one_instance_split_noop_in_the_sandbox():
    """Cap set trains on one instance, so nothing is staged; a constant rewrite of the constant seed must still
    be recognised as the parent's behaviour, and a program that orders vectors differently must not."""
    with Evaluator(load_problem(ROOT / "problems" / "cap_set.py")) as ev:
        seed = ev.evaluate("def priority(el, n):\n    return 0.0\n", split="n4")
        assert seed.valid and len(seed.per_instance) == 1
        rule = CascadeRule(probe=3, parents=(ParentProbe.of(seed, 3),))
        same = ev.evaluate("def priority(el, n):\n    return -1.5\n", split="n4", cascade=rule)
        assert same.failure is FailureKind.NOOP and not same.valid and same.score is None
        other = ev.evaluate("def priority(el, n):\n    return float(sum(el) % 3)\n", split="n4", cascade=rule)
        plain = ev.evaluate("def priority(el, n):\n    return float(sum(el) % 3)\n", split="n4")
        assert other.valid and other.fingerprints != seed.fingerprints
        assert other.score == plain.score and other.fingerprints == plain.fingerprints
