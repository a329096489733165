"""Prompt strategies, copy steering and parent helpers (pure, milliseconds)."""
import random

import pytest

from funsearch.program.extract import extract_function
from funsearch.program.parents import called_versions, with_parent_helpers
from funsearch.program.prompt import PromptView
from funsearch.program.strategies import STRATEGIES, body_lines, plan_prompt
from funsearch.proposers.base import Completion, Usage
from funsearch.search.sampling import PromptDraw, draw_rng, read_completion
from funsearch.search.steering import Steering

VIEW = PromptView(preamble='"""Bin packing."""\nimport numpy as np', function_name="priority",
                  signature="(item: float, bins: np.ndarray) -> np.ndarray", docstring="Priority of each bin.")
FIRST_FIT = "def priority(item, bins):\n    \"\"\"First fit.\"\"\"\n    order = np.arange(len(bins))\n    return -order\n"
BEST_FIT = "def priority(item, bins):\n    residual = bins - item\n    fits = residual >= 0\n    return -residual\n"


def completion(text):
    return Completion(text=text, usage=Usage(0, 0, 0.0, 0.0), model="m", seed=0)


def draw_for(plan, parents=(FIRST_FIT, BEST_FIT)):
    return PromptDraw(0, tuple(range(len(parents))), ("h0", "h1")[: len(parents)], tuple(parents), plan, 0.8)


def test_classic_is_funsearch_header():
    plan = plan_prompt("classic", VIEW, [FIRST_FIT, BEST_FIT], random.Random(0))
    assert plan.text.endswith(plan.header) and plan.header.startswith("def priority_v2(") and plan.prefix == ""
    assert plan.tag == "classic" and plan.version == 2


def test_edit_prewrites_the_best_parent_up_to_a_line_and_opens_a_comment():
    tags = set()
    for seed in range(30):
        plan = plan_prompt("edit", VIEW, [FIRST_FIT, BEST_FIT], random.Random(seed))
        tags.add(plan.tag)
        assert plan.text.endswith(plan.prefix) and plan.prefix.rstrip().endswith("# Improvement:")
        assert plan.prefix.startswith("def priority_v2(")
        line = int(plan.tag.split(":L")[1])
        kept = body_lines(BEST_FIT, "priority")[:line]
        assert all(k in plan.prefix for k in kept)          # the best parent's lines before the edit point
        assert "np.arange" not in plan.prefix               # never the worse parent's
    assert tags == {"edit:L0", "edit:L1", "edit:L2"}        # every statement line is an edit point


def test_edit_completion_continues_the_prefix():
    plan = plan_prompt("edit", VIEW, [BEST_FIT], random.Random(1))
    text = " prefer exact fits\n    return -(bins - item) + 10 * (bins == item)\n"
    got = read_completion(7, completion(text), draw_for(plan, (BEST_FIT,)), "priority", ("item", "bins"))
    assert got.failure is None and "10 * (bins == item)" in got.source and got.source.startswith("def priority(")
    assert "# Improvement: prefer exact fits" in got.source


def test_idea_states_an_operator_and_leaves_the_docstring_open():
    keys = set()
    for seed in range(40):
        plan = plan_prompt("idea", VIEW, [FIRST_FIT, BEST_FIT], random.Random(seed))
        keys.add(plan.tag)
        assert plan.text.endswith("Idea:") and plan.prefix.count('"""') == 1
    assert keys == {"idea:new", "idea:part", "idea:formula", "idea:step", "idea:combine"}
    one = {plan_prompt("idea", VIEW, [BEST_FIT], random.Random(s)).tag for s in range(40)}
    assert "idea:combine" not in one                         # combining needs two parents
    plan = plan_prompt("idea", VIEW, [BEST_FIT], random.Random(3))
    got = read_completion(0, completion(' prefer exact fits.\n    """\n    return -(bins - item)\n'),
                          draw_for(plan, (BEST_FIT,)), "priority", ("item", "bins"))
    assert got.failure is None and "prefer exact fits" in got.source


def test_mix_draws_both_and_strategies_are_reproducible():
    tags = {plan_prompt("mix", VIEW, [BEST_FIT], random.Random(s)).tag.split(":")[0] for s in range(20)}
    assert tags == {"edit", "idea"}
    for strategy in STRATEGIES:
        a = plan_prompt(strategy, VIEW, [FIRST_FIT, BEST_FIT], draw_rng(5, 17))
        b = plan_prompt(strategy, VIEW, [FIRST_FIT, BEST_FIT], draw_rng(5, 17))
        assert a == b
    with pytest.raises(ValueError, match="unknown prompt strategy"):
        plan_prompt("chatty", VIEW, [BEST_FIT], random.Random(0))


def test_steering_heats_an_island_after_copies_and_cools_after_anything_else():
    s = Steering(step=0.2, max_steps=3)
    assert s.temperature(0.8, 4) == 0.8
    s.note(4, "copy")
    s.note(4, "noop")
    assert s.temperature(0.8, 4) == 1.2 and s.temperature(0.8, 5) == 0.8   # only the island that copied
    for _ in range(5):
        s.note(4, "copy")
    assert s.temperature(0.8, 4) == pytest.approx(1.4)                    # capped at max_steps
    s.note(4, "fresh")
    assert s.temperature(0.8, 4) == 0.8
    s.note(5, "copy")
    again = Steering.from_dict(s.to_dict())
    assert again.temperature(0.8, 5) == 1.0 and again.streaks == s.streaks
    off = Steering(enabled=False)
    off.note(1, "copy")
    assert off.temperature(0.8, 1) == 0.8


def test_a_call_to_an_earlier_version_gets_that_parent_as_a_helper():
    source = "def priority(item, bins):\n    return priority_v1(item, bins) + 0.5 * priority_v0(item, bins)\n"
    assert called_versions(source, "priority") == {0, 1}
    fixed, added = with_parent_helpers(source, "priority", [FIRST_FIT, BEST_FIT])
    assert added == (0, 1)
    names = {u for u in ("priority", "priority_v0", "priority_v1") if f"def {u}(" in fixed}
    assert names == {"priority", "priority_v0", "priority_v1"}
    namespace = {"np": __import__("numpy")}
    exec(fixed, namespace)
    bins = namespace["np"].array([5.0, 3.0, 9.0])
    assert list(namespace["priority"](2.0, bins)) == [-3.0, -1.5, -8.0]
    unchanged, none = with_parent_helpers(BEST_FIT, "priority", [FIRST_FIT])
    assert unchanged == BEST_FIT and none == ()
    beyond, _ = with_parent_helpers("def priority(item, bins):\n    return priority_v5(item, bins)\n",
                                    "priority", [FIRST_FIT])
    assert "def priority_v5" not in beyond                   # not shown in the prompt: left to fail


def test_extraction_reads_through_the_plan_and_adds_called_parents():
    plan = plan_prompt("classic", VIEW, [FIRST_FIT, BEST_FIT], random.Random(0))
    got = read_completion(3, completion("    return priority_v1(item, bins) * 2\n"), draw_for(plan),
                          "priority", ("item", "bins"))
    assert got.failure is None and "def priority_v1(" in got.source and "priority_v1 (called" in got.message
    assert extract_function("    return priority_v1(item, bins) * 2\n", "priority", ("item", "bins"),
                            header=plan.header).source.count("def ") == 1
