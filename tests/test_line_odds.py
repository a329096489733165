"""Learned divergence lines (funsearch/search/line_odds.py): the odds, their use by Divergence.plan and the classic
plan, and the feedback a registered sample gives them (funsearch/search/sampling.py)."""
from __future__ import annotations

import random
from collections import Counter

from funsearch.program.divergence import Divergence
from funsearch.program.prompt import PromptView
from funsearch.program.strategies import plan_prompt
from funsearch.search.line_odds import LineOdds, line_key
from funsearch.search.sampling import PromptDraw, divergence_feedback

BODY = ["    n = len(d)", "    tour = [0]", "    # pick the nearest", "    cost = d[tour[-1]]", "    return tour"]


def test_line_key_collapses_whitespace_and_drops_comments():
    assert line_key("    cost  = d[ 0 ]   # note") == "cost = d[ 0 ]"
    assert line_key("\tcost = d[ 0 ]") == line_key("cost = d[ 0 ]")


def test_lines_that_gave_valid_programs_are_chosen_and_failing_ones_mostly_not():
    odds = LineOdds()
    for _ in range(30):
        odds.record("cost = d[tour[-1]]", True)
        odds.record("    tour = [0]", False)
        odds.record("return tour", False)
    rng = random.Random(0)
    picks = Counter(odds.choose(BODY, [0, 1, 3, 4], rng) for _ in range(400))
    # line 0 was never tried: it keeps drawing from the prior, and wins when its draw beats line 3's
    assert picks[3] > 300 and picks[1] + picks[4] < 10 and picks[0] > 0


def test_without_evidence_every_candidate_is_drawn():
    picks = {LineOdds().choose(BODY, [0, 1, 3, 4], random.Random(s)) for s in range(200)}
    assert picks == {0, 1, 3, 4}


def test_counts_survive_a_snapshot():
    odds = LineOdds()
    odds.record("x = 1", True)
    odds.record("x = 1", False)
    odds.record("y = 2", False)
    again = LineOdds.from_dict(odds.to_dict())
    assert again.counts == {"x = 1": [1, 1], "y = 2": [0, 1]}
    assert LineOdds.from_dict(None).counts == {}


def test_plan_uses_the_chooser_and_the_chosen_line_is_the_last_parents():
    def always_cost(body, candidates, rng):
        return next(i for i in candidates if "cost" in body[i])

    d = Divergence.plan([BODY, BODY], random.Random(0), choose=always_cost)
    assert d.lines == (3, 3)
    assert d.chosen_line() == "    cost = d[tour[-1]]"
    assert Divergence.plan([], random.Random(0), known=["x = 1\n"]).chosen_line() is None


def test_the_classic_plan_passes_the_chooser_through():
    view = PromptView("import numpy as np", "f", "(d)", "Doc.")
    parent = "def f(d):\n" + "\n".join(BODY) + "\n"
    odds = LineOdds()
    for _ in range(50):
        odds.record("cost = d[tour[-1]]", True)
        for line in ("n = len(d)", "tour = [0]", "return tour"):
            odds.record(line, False)
    tags = Counter(plan_prompt("classic", view, [parent], random.Random(s), diverge=True,
                               choose=odds.choose).tag for s in range(100))
    assert tags["classic+diverge:L3"] > 90  # body line 3 is the cost line
    uniform = Counter(plan_prompt("classic", view, [parent], random.Random(s), diverge=True).tag
                      for s in range(100))
    assert uniform["classic+diverge:L3"] < 50


def test_feedback_counts_valid_no_op_and_cascade_stop_as_kept_contracts():
    view = PromptView("import numpy as np", "f", "(d)", "Doc.")
    plan = plan_prompt("classic", view, ["def f(d):\n" + "\n".join(BODY) + "\n"], random.Random(1), diverge=True)
    draw = PromptDraw(0, (0,), ("h",), ("src",), plan, 0.8)
    line = plan.divergence.chosen_line()
    assert divergence_feedback(draw, None, "fresh") == (line, True)
    assert divergence_feedback(draw, "noop", "noop") == (line, True)
    assert divergence_feedback(draw, "cascade_stop", "fresh") == (line, True)
    assert divergence_feedback(draw, "bad_output", "fresh") == (line, False)
    assert divergence_feedback(draw, "runtime_error", "fresh") == (line, False)
    assert divergence_feedback(draw, "duplicate", "copy") == (line, False)
    plain = PromptDraw(0, (0,), ("h",), ("src",), plan_prompt("classic", view, ["def f(d):\n    return d\n"],
                                                              random.Random(1)), 0.8)
    assert divergence_feedback(plain, None, "fresh") == (None, False)
    assert divergence_feedback(None, None, "failed") == (None, False)


def test_learned_lines_without_divergence_are_refused_in_one_line():
    import pytest

    from funsearch.config import ConfigError, make_config
    from funsearch.study.experiment import ExperimentConfig

    assert make_config(problem="p.py", diverge=True, diverge_lines="learned").diverge_lines == "learned"
    with pytest.raises(ConfigError, match="diverge_lines learned .* needs diverge"):
        make_config(problem="p.py", diverge=False, diverge_lines="learned")
    with pytest.raises(ValueError, match="only_lines: .*needs diverge"):
        ExperimentConfig(name="x", problems=["p.py"], sizes=["small"], budgets=["10-samples"],
                         variants={"only_lines": {"diverge_lines": "learned"}})
