"""The no-LLM mutation baseline: reads the best parent from a real prompt and changes it reproducibly."""
import ast
import random

from funsearch.program.prompt import PromptView, build_prompt
from funsearch.proposers.base import SamplingParams
from funsearch.proposers.mutation import MutationProposer, last_parent, mutate

VIEW = PromptView(preamble="import numpy as np", function_name="priority",
                  signature="(item: float, bins: np.ndarray) -> np.ndarray", docstring="Score bins.")
V0 = "def priority(item, bins):\n    return -np.arange(len(bins))\n"
V1 = "def priority(item, bins):\n    return -(bins - item) * 2.0 + 1\n"


def test_last_parent_is_the_best_parent_of_the_prompt():
    stem, source = last_parent(build_prompt(VIEW, [V0, V1]))
    assert stem == "priority"
    assert "(bins - item) * 2.0 + 1" in source and "arange" not in source


def test_mutate_changes_the_code_and_is_seeded():
    a = mutate(V1, random.Random(5))
    b = mutate(V1, random.Random(5))
    assert a == b
    assert ast.dump(ast.parse(a)) != ast.dump(ast.parse(V1))
    assert any(mutate(V1, random.Random(s)) != a for s in range(6, 12))


def test_proposer_returns_a_v2_function_with_zero_tokens():
    (c,) = MutationProposer().complete(build_prompt(VIEW, [V0, V1]), SamplingParams(seed=3))
    assert c.text.startswith("def priority_v2(") and c.usage.completion_tokens == 0 and c.seed == 3
    ast.parse(c.text)


def test_a_constant_free_seed_still_yields_many_distinct_variants():
    best_fit = "def priority(item, bins):\n    return -(bins - item)\n"
    variants = {mutate(best_fit, random.Random(seed)) for seed in range(40)}
    assert len(variants) >= 20
    for v in variants:
        ast.parse(v)
