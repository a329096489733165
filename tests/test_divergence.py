"""Forced divergence (funsearch/program/divergence.py): which tokens a copy may not take, with a toy vocabulary;
and through the classic prompt plan."""
from __future__ import annotations

import random

from funsearch.program.divergence import Divergence, KnownCode, TokenIndex, code_line, code_text, is_trivial, line_opens
from funsearch.program.prompt import PromptView
from funsearch.program.strategies import plan_prompt
from funsearch.search.line_odds import line_key

BODY = ["    x = bins - item", "    # keep the closest bin", "    return -x"]
PIECES = ["    ", " ", "x", " =", " bins", " -", " item", "\n", "    return", " -x", "\n\n", " -x\n", "#", " # note",
          ";", "", " * 2", "\n    return", " -x\n\n", "return", " - item", " - item\n", None]


def tokens(index: TokenIndex, ids: list[int]) -> set[str]:
    return {PIECES[i] for i in ids}


def divergence_at(line: int) -> Divergence:
    rng = random.Random(0)
    for _ in range(200):  # find the rng draw that picks `line` (the choice itself is random by design)
        d = Divergence.plan([BODY], rng)
        if d.lines == (line,):
            return d
    raise AssertionError(f"line {line} never drawn")


def test_plan_drops_comments_and_blank_lines_from_the_target_and_never_picks_them():
    lines = {Divergence.plan([BODY], random.Random(s)).lines[0] for s in range(50)}
    assert lines == {0, 2}
    d = divergence_at(2)
    assert d.targets == ("    x = bins - item\n    return -x\n",)
    assert d.targets[0][d.ends[0]] == "\n" and d.targets[0][: d.ends[0]].endswith("return -x")


def test_block_headers_are_not_chosen_when_a_simple_line_exists():
    body = ["    for b in bins:", "        s += b", "    return s"]
    assert {Divergence.plan([body], random.Random(s)).lines[0] for s in range(50)} == {1, 2}
    assert Divergence.plan([["    # only a comment"]], random.Random(0)) is None


def test_a_copy_may_reach_the_chosen_line_end_but_not_pass_it():
    index, d = TokenIndex(PIECES), divergence_at(2)
    upto = "    x = bins - item\n    return"
    assert tokens(index, index.banned(d, upto)) == {" -x\n", " -x\n\n"}  # " -x" alone is allowed
    assert tokens(index, index.banned(divergence_at(0), "    x = bins")) == {" - item\n"}  # " - item" may go on
    at_end = upto + " -x"
    banned = tokens(index, index.banned(d, at_end))
    assert {"\n", "\n\n", "\n    return", " ", "#", " # note", ";", ""} <= banned  # newline, blanks, comments, EOS
    assert " * 2" not in banned and "x" not in banned


def test_nothing_is_banned_once_the_completion_has_diverged_or_before_the_line():
    index, d = TokenIndex(PIECES), divergence_at(2)
    assert index.banned(d, "    x = bins * item\n    return -x") == []
    assert index.banned(d, "    x = bins - item\n    return -x * 2") == []
    assert index.banned(d, "    x = bins") == []  # the first line may be copied: only line 2 must change
    assert index.banned(d, "    x = bins - item\n    # a thought") == []  # inside a comment nothing is banned


def test_comment_and_blank_lines_written_on_the_way_do_not_escape_the_ban():
    index, d = TokenIndex(PIECES), divergence_at(0)
    assert code_text("    x = 1  \n\n    # c\n    y") == "    x = 1\n    y"
    assert code_text("    x = 1\n    # c") is None
    banned = tokens(index, index.banned(d, "\n    # my plan\n    x = bins - item"))
    assert "\n" in banned and "\n    return" in banned


def test_comments_at_line_ends_are_not_code():
    assert code_line('    tour.append(tour[0])  # close the tour  ') == "    tour.append(tour[0])"
    assert code_line('    s = "a # b"  # c') == '    s = "a # b"'  # a # inside quotes is not a comment
    assert code_line("    s = 'it\\'s # x'") == "    s = 'it\\'s # x'"  # an escaped quote does not end the string
    assert code_text("    x = 1  # one\n    y = 2  # tw") is None  # the last line is in a comment
    assert code_text("    x = 1  # one\n    y") == "    x = 1\n    y"
    assert line_opens('    x = f("#", (') and not line_opens("    x = 1  # see (")  # headers read the same way
    assert line_key('    s  = "a#b"  # c') == 's = "a#b"'  # and so do learned lines' keys


def test_a_known_program_written_with_another_comment_is_still_held():
    """Measured on the whole-tour TSP: mid wrote one program again and again, with and without a trailing comment."""
    known = KnownCode()
    known.add(["    tour = f(x)", "    tour.append(tour[0])  # close the tour", "    return tour"])
    assert known.codes == ("    tour = f(x)\n    tour.append(tour[0])\n    return tour\n",)
    d = Divergence.plan([], random.Random(0), known.codes)
    pieces = ["\n", " tour\n", " 0\n"]
    index = TokenIndex(pieces)
    copied = "    tour = f(x)\n    tour.append(tour[0])\n    return"  # the same code without the comment
    assert {pieces[i] for i in index.banned(d, copied)} == {" tour\n"}
    parent = ["    y = g(x)  # first", "    return y"]
    held = Divergence.plan([parent], random.Random(0), (), choose=lambda body, candidates, rng: 0)
    assert held.targets == ("    y = g(x)\n    return y\n",) and held.ends == (len("    y = g(x)"),)
    assert held.chosen_line() == "    y = g(x)"


def test_each_parent_is_held_to_its_own_line():
    d = Divergence(("    return a\n", "    return a + b\n"), (12, 16), (0, 0))
    pieces = ["\n", " + b", " + b\n", " * 2"]
    index = TokenIndex(pieces)
    assert {pieces[i] for i in index.banned(d, "    return a")} == {"\n", " + b\n"}  # " + b" may go on
    assert {pieces[i] for i in index.banned(d, "    return a + b")} == {"\n"}


def test_trivial_tokens():
    assert all(is_trivial(t) for t in ["", " ", "\n", "  \n", "\t#", " ;", "\n    x"])
    assert not any(is_trivial(t) for t in [" x", "+", " * 2", "(", "return"])


def test_classic_plan_carries_a_divergence_only_when_asked():
    view = PromptView("import numpy as np", "priority", "(item: float, bins: np.ndarray) -> np.ndarray", "Doc.")
    parents = ["def priority(item, bins):\n    return -(bins - item)\n",
               "def priority(item, bins):\n    '''x'''\n    r = bins - item\n    return -r ** 2\n"]
    plain = plan_prompt("classic", view, parents, random.Random(3))
    assert plain.divergence is None and plain.tag == "classic"
    plan = plan_prompt("classic", view, parents, random.Random(3), diverge=True)
    assert plan.text == plain.text and plan.header == plain.header  # the prompt itself is unchanged
    assert plan.divergence.targets == ("    return -(bins - item)\n", "    r = bins - item\n    return -r ** 2\n")
    assert plan.tag == f"classic+diverge:L{plan.divergence.lines[-1]}"
    assert plan_prompt("edit", view, parents, random.Random(3), diverge=True).divergence is None


def test_known_programs_may_not_be_written_out_verbatim():
    known = KnownCode(limit=2)
    known.add(["    return -x", "    # same code, other comment"])
    known.add(["    return -x"])  # the same code: kept once
    known.add(["    y = x", "    return y"])
    assert known.codes == ("    return -x\n", "    y = x\n    return y\n")
    d = Divergence.plan([BODY], random.Random(1), known.codes)
    assert d.parents == 1 and d.targets[1:] == known.codes and d.ends[1] == len("    return -x")
    pieces = ["\n", " * 2", "x\n"]
    index = TokenIndex(pieces)
    assert {pieces[i] for i in index.banned(d, "    return -")} == {"x\n"}  # the known one-liner's last line
    assert {pieces[i] for i in index.banned(d, "    return -x")} == {"\n"}
    known.add(["    return 1"])
    assert known.codes == ("    y = x\n    return y\n", "    return 1\n")  # the oldest went first
    assert Divergence.plan([], random.Random(0), known.codes).parents == 0
