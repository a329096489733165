"""Evaluator: honest candidates score exactly as the unsandboxed reference path; early failures;
splits, custom instances, metrics, CPU accounting; bin packing baselines through the real sandbox."""
from __future__ import annotations

from pathlib import Path

import pytest

from funsearch.problem.evaluator import Evaluator, evaluate_in_process
from funsearch.problem.loader import load_problem
from funsearch.records import FailureKind
from funsearch.sandbox.limits import SandboxLimits

from sandbox_helpers import HONEST, TESTS, toy

LIMITS = SandboxLimits(wall_seconds=5)
HONEST_CANDIDATES = {
    "baseline": None,
    "sorted": HONEST,
    "reversed": "def priority(value: float, position: int) -> float:\n    return -value\n",
    "helper_and_import": ("import math\n\ndef _squash(x):\n    return math.atan(x)\n\n"
                          "def priority(value: float, position: int) -> float:\n    return _squash(value) + 0.0 * position\n"),
    "numpy_returning": ("import numpy as np\n\ndef priority(value: float, position: int) -> float:\n"
                        "    return np.float64(value) * 2\n"),
}


@pytest.fixture(scope="module")
def evaluator():
    with Evaluator(toy(), LIMITS, slot=21) as ev:
        yield ev


@pytest.mark.parametrize("name", sorted(HONEST_CANDIDATES))
@pytest.mark.parametrize("split", ["small", "large"])
def test_honest_candidates_score_as_in_process(evaluator, name, split):
    problem = evaluator.problem
    source = HONEST_CANDIDATES[name] or problem.baseline_source
    sandboxed = evaluator.evaluate(source, split=split)
    reference = evaluate_in_process(problem, source, split=split)
    assert sandboxed.valid and reference.valid
    assert sandboxed.score == reference.score
    assert sandboxed.signature == reference.signature
    assert sandboxed.metrics == reference.metrics
    assert [o.name for o in sandboxed.per_instance] == [o.name for o in reference.per_instance]


def test_scores_differ_between_candidates(evaluator):
    good = evaluator.evaluate(HONEST)
    bad = evaluator.evaluate(HONEST_CANDIDATES["reversed"])
    assert good.score == 1.0 and bad.score == 0.0
    assert good.metrics == {"sorted_pairs_pct": 100.0}


def test_default_split_is_the_train_split(evaluator):
    result = evaluator.evaluate(HONEST)
    assert [o.name for o in result.per_instance] == [f"small_{k}" for k in range(3)]


def test_custom_instances_are_evaluated_and_sent_once(evaluator):
    instances = [{"name": "mine", "values": [3.0, 1.0, 2.0]}]
    before = set(evaluator._server.sent_keys)
    first = evaluator.evaluate(HONEST, instances=instances)
    second = evaluator.evaluate(HONEST_CANDIDATES["reversed"], instances=instances)
    assert len(evaluator._server.sent_keys - before) == 1
    assert [o.name for o in first.per_instance] == ["mine"]
    assert first.score == 1.0 and second.score == 0.0


def test_cpu_and_wall_seconds_are_reported(evaluator):
    busy = ("def priority(value: float, position: int) -> float:\n"
            "    total = 0\n    for k in range(200000):\n        total += k\n    return value\n")
    result = evaluator.evaluate(busy, split="single")
    assert result.valid
    assert 0 < result.cpu_seconds <= result.seconds + 0.05
    assert result.per_instance[0].seconds > 0


@pytest.mark.parametrize("source,kind", [
    ("def priority(value, position:\n    return 1\n", FailureKind.SYNTAX_ERROR),
    ("x = 1\n", FailureKind.NO_CODE),
    ("def other(value, position):\n    return 1.0\n", FailureKind.WRONG_SIGNATURE),
])
def test_candidates_that_cannot_run_fail_before_the_sandbox(evaluator, source, kind):
    result = evaluator.evaluate(source)
    assert not result.valid and result.failure is kind and result.per_instance == ()


def test_runtime_error_names_the_candidate_line(evaluator):
    result = evaluator.evaluate("def priority(value: float, position: int) -> float:\n    return 1 / 0\n")
    assert result.failure is FailureKind.RUNTIME_ERROR
    assert result.message == "small_0: ZeroDivisionError: division by zero (candidate line 2)"
    assert [o.failure for o in result.per_instance] == [FailureKind.RUNTIME_ERROR] * 3
    assert result.to_json()["error"] == {"kind": "runtime_error", "message": result.message}


def test_in_process_reference_restores_the_problem_module():
    problem = toy()
    original = problem.module.priority
    evaluate_in_process(problem, HONEST)
    assert problem.module.priority is original


def test_protections_are_reported(evaluator):
    names = {p.name: p.on for p in evaluator.protections}
    assert set(names) >= {"bubblewrap", "seccomp", "landlock", "uid-switch"}


BIN_PACKING = TESTS.parent / "problems" / "bin_packing.py"


@pytest.mark.skipif(not BIN_PACKING.exists(), reason="problems/bin_packing.py not landed")
def test_bin_packing_baselines_match_the_reference():
    problem = load_problem(BIN_PACKING)
    with Evaluator(problem, SandboxLimits(wall_seconds=20), slot=22) as ev:
        for name, path in sorted(problem.baselines().items()):
            source = Path(path).read_text()
            sandboxed = ev.evaluate(source, split="or1")
            reference = evaluate_in_process(problem, source, split="or1")
            assert sandboxed.valid, (name, sandboxed.message)
            assert sandboxed.score == reference.score and sandboxed.metrics == reference.metrics
