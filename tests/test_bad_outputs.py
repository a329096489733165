"""What the evolved function returns is checked by every shipped driver (funsearch.finite_numbers): not
numbers, not finite or the wrong shape is `bad_output` with one line, never a score. Each candidate in
tests/hostile/bad_outputs/ (named <problem>__<case>.py) gets its exact class on both sandbox paths: the native
C fast path and the Python path (FUNSEARCH_SANDBOX_NATIVE=0)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import funsearch
from funsearch.problem.evaluator import Evaluator, evaluate_in_process
from funsearch.problem.loader import load_problem
from funsearch.records import FailureKind
from funsearch.sandbox.limits import SandboxLimits

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "hostile" / "bad_outputs"
BAD = FailureKind.BAD_OUTPUT
# file -> (failure class or None for valid, fragment of the message)
EXPECTED = {
    "bin_packing__nan_every_bin": (BAD, "priority returned 120 non-finite value(s) (NaN or infinity) of 120"),
    "bin_packing__strings": (BAD, "not numbers"),
    "bin_packing__infinity": (BAD, "non-finite"),
    "bin_packing__none_values": (BAD, "priority returned a list, not numbers"),
    "bin_packing__wrong_shape": (BAD, "priority returned shape (120, 2), expected (120,)"),
    "bin_packing__python_list": (None, ""),
    "cap_set__nan": (BAD, "priority returned 81 non-finite value(s) (NaN or infinity) of 81"),
    "cap_set__string": (BAD, "not numbers"),
    "cap_set__infinity": (BAD, "priority returned 1 non-finite value(s) (NaN or infinity) of 81"),
    "cap_set__array_per_vector": (BAD, "priority returned shape (81, 4), expected (81,)"),
    "cap_set__integers": (None, ""),
    "tsp__nan_tour": (BAD, "build_tour returned 50 non-finite value(s)"),
    "tsp__string_tour": (BAD, "not numbers"),
    "tsp__infinite_city": (BAD, "build_tour returned 1 non-finite value(s)"),
    "tsp__closed_tour": (None, ""),
    "tsp__open_tour_plus_one": (BAD, "tour must be a 1-D sequence of 50 cities, got shape (51,)"),
}
SPLITS = {"bin_packing": ("or1",), "cap_set": ("n4", "n3"), "tsp": ("train50",)}


def test_every_case_file_has_an_expectation():
    assert sorted(p.stem for p in CASES.glob("*.py")) == sorted(EXPECTED)


@pytest.fixture(scope="module", params=["fast-path", "python-path"])
def evaluators(request):
    os.environ["FUNSEARCH_SANDBOX_NATIVE"] = "1" if request.param == "fast-path" else "0"
    made = {}
    try:
        for slot, name in enumerate(SPLITS, start=40):
            made[name] = Evaluator(load_problem(ROOT / "problems" / f"{name}.py"), SandboxLimits(), slot=slot)
            on = made[name]._server.fast_path().startswith("fast path: on")
            assert on is (request.param == "fast-path"), made[name]._server.fast_path()
    finally:
        del os.environ["FUNSEARCH_SANDBOX_NATIVE"]
    yield made
    for evaluator in made.values():
        evaluator.close()


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_outputs_are_classified_on_both_paths(evaluators, case):
    problem_name = case.split("__")[0]
    evaluator = evaluators[problem_name]
    instances = [i for split in SPLITS[problem_name] for i in evaluator.problem.load_split(split)][:2]
    result = evaluator.evaluate((CASES / f"{case}.py").read_text(), instances=instances)
    kind, fragment = EXPECTED[case]
    if kind is None:
        assert result.valid, result.message
        return
    assert not result.valid and result.score is None and result.metrics == {}
    assert result.failure is kind, (result.failure, result.message)
    assert fragment in result.message and "BadOutput" in result.message, result.message
    assert "\n" not in result.message and len(result.message) <= 300
    assert result.per_instance[1].message == "not run: instance 1 of 2 failed first"


def test_a_closed_tour_scores_as_the_open_one():
    problem = load_problem(ROOT / "problems" / "tsp.py")
    instances = problem.load_split("train50")[:3]
    closed = evaluate_in_process(problem, (CASES / "tsp__closed_tour.py").read_text(), instances=instances)
    assert closed.valid and closed.score == evaluate_in_process(problem, problem.baseline_source,
                                                                instances=instances).score
    # the trusted score stays strict: it never sees the closing city, and refuses it when sent
    tour = list(range(len(instances[0]["coords"])))
    with pytest.raises(funsearch.InvalidSolution):
        problem.score(instances[0], tour + [0])


@pytest.mark.parametrize("value,shape,message", [
    (np.array([1.0, np.nan]), None, "returned 1 non-finite value(s) (NaN or infinity) of 2"),
    (np.array([1.0, -np.inf]), None, "non-finite"),
    (np.array(["a", "b"]), None, "dtype <U1, not numbers"),
    ("high", (), "not numbers"),
    ([1, None], None, "returned a list, not numbers"),
    ([1, [2, 3]], None, "returned a list, not numbers"),
    (np.array([1 + 2j]), None, "complex128"),
    (np.zeros(3), (2,), "shape (3,), expected (2,)"),
    (10 ** 400, (), "not numbers"),
])
def test_finite_numbers_refuses_with_one_line(value, shape, message):
    with pytest.raises(funsearch.BadOutput) as info:
        funsearch.finite_numbers(value, shape=shape, what="f")
    assert message in str(info.value) and str(info.value).startswith("f returned")


def test_finite_numbers_keeps_numbers():
    assert funsearch.finite_numbers([1, 2]).dtype.kind == "i"
    assert funsearch.finite_numbers([True, False]).dtype.kind == "b"
    assert funsearch.finite_numbers([10 ** 30, 1]).tolist() == [1e30, 1.0]
    assert funsearch.finite_numbers(2.5, shape=()).shape == ()
