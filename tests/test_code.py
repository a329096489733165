"""program.extract and program.canonical: extraction from messy completions, renaming, normalisation."""
import ast

import pytest

from funsearch.program.canonical import body_length, normalise, program_hash, rename_function
from funsearch.program.extract import extract_function
from funsearch.records import FailureKind

P = ("item", "bins")
HEADER = ('def priority_v2(item: float, bins: np.ndarray) -> np.ndarray:\n'
          '    """Improved version of `priority_v1`."""\n')


def ok(text, header=None, parameters=P):
    r = extract_function(text, "priority", parameters, header=header)
    assert r.failure is None, r.message
    tree = ast.parse(r.source)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert defs[-1].name == "priority"
    return r, tree


def fails(text, kind, header=None):
    r = extract_function(text, "priority", P, header=header)
    assert r.source is None
    assert r.failure is kind, (r.failure, r.message)
    assert r.message and "\n" not in r.message
    return r


def test_fenced_block_with_prose_around():
    text = ("Sure! Here is an improved version that prefers tight fits:\n\n```python\n"
            "import numpy as np\n\n"
            "def priority_v2(item: float, bins: np.ndarray) -> np.ndarray:\n"
            "    # prefer bins that will be nearly full\n"
            "    gap = bins - item\n"
            "    return -gap ** 2\n```\n\nThis works because tight bins waste less space.\n")
    r, tree = ok(text)
    assert isinstance(tree.body[0], ast.Import) and tree.body[0].names[0].asname == "np"
    assert "# prefer bins" in r.source            # comments survive renaming
    assert ast.unparse(tree.body[-1].returns) == "np.ndarray"
    assert "Sure" not in r.source and "works because" not in r.source
    assert "renamed priority_v2 to priority" in r.message


def test_several_blocks_pick_the_one_with_the_target():
    text = ("First a helper idea:\n```python\nx = [1, 2, 3]\nprint(x)\n```\n"
            "And the function:\n```python\ndef priority_v2(item, bins):\n    return bins - item\n```\n"
            "Usage:\n```python\nprint(priority_v2(0.3, np.array([1.0])))\n```\n")
    r, tree = ok(text)
    assert len(tree.body) == 1
    assert ast.unparse(tree.body[0].body[0]) == "return bins - item"


def test_body_only_continuation_is_glued_to_the_header():
    text = "    fit = bins - item\n    return -fit * (fit >= 0)\n\n\nExplanation: ...\n"
    r, tree = ok(text, header=HEADER)
    fn = tree.body[0]
    assert [ast.unparse(s) for s in fn.body[1:]] == ["fit = bins - item", "return -fit * (fit >= 0)"]
    assert ast.unparse(fn.args.args[1].annotation) == "np.ndarray"
    assert "Explanation" not in r.source


def test_header_not_glued_when_the_completion_writes_a_whole_function():
    text = "def priority_v2(item, bins):\n    return -bins\n"
    r, tree = ok(text, header=HEADER)
    assert len(tree.body) == 1 and ast.unparse(tree.body[0].body[0]) == "return -bins"


def test_empty_body_continuation_is_no_code():
    fails("", FailureKind.NO_CODE, header=HEADER)
    fails("    pass\n", FailureKind.NO_CODE, header=HEADER)


def test_truncated_tail_is_cut_at_the_last_complete_statement():
    text = ("def priority_v2(item, bins):\n    gap = bins - item\n    score = -gap\n"
            "    score = np.where(gap >= 0, score,\n")
    r, tree = ok(text)
    assert [ast.unparse(s) for s in tree.body[0].body] == ["gap = bins - item", "score = -gap"]
    assert "cut 1 unparseable trailing lines" in r.message


def test_truncated_unterminated_fence():
    text = "```python\ndef priority_v2(item, bins):\n    s = bins - item\n    return -s\n\n# now let us also def"
    r, tree = ok(text)
    assert ast.unparse(tree.body[0].body[-1]) == "return -s"


@pytest.mark.parametrize("names, chosen", [
    (["priority_v1", "priority_v2", "priority_v3"], "priority_v2"),
    (["priority_v0", "priority_v1", "priority_v3"], "priority_v3"),
    (["priority"], "priority"),
    (["priority_v1"], "priority_v1"),
    (["priority_v3", "priority_v1"], "priority_v1"),
])
def test_wrong_version_suffix_prefers_v2_else_the_last(names, chosen):
    text = "\n\n".join(f"def {n}(item, bins):\n    return bins * {i + 1}" for i, n in enumerate(names))
    r, tree = ok(text)
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "priority"][0]
    assert ast.unparse(fn.body[0]) == f"return bins * {names.index(chosen) + 1}"


def test_helpers_kept_only_when_called_and_recursion_renamed():
    text = ("import numpy as np\nimport math\n\nEPS = 1e-9\n\n"
            "def unused(a):\n    return a\n\n"
            "def _gap(item, bins):\n    return bins - item + EPS\n\n"
            "def priority_v3(item, bins, depth=0):\n    pass\n\n"
            "def priority_v2(item, bins):\n    if item < 0:\n        return priority_v2(-item, bins)\n"
            "    return -_gap(item, bins)\n\nprint(priority_v2(0.5, np.ones(3)))\n")
    r, tree = ok(text)
    assert set(r.helpers) == {"_gap", "EPS"}
    top = [n.name if hasattr(n, "name") else ast.unparse(n) for n in tree.body]
    assert top == ["import numpy as np", "import math", "EPS = 1e-09", "_gap", "priority"]
    recursive = tree.body[-1].body[0].body[0].value
    assert recursive.func.id == "priority"
    assert "print(" not in r.source


def test_helper_named_like_the_target_is_renamed_out_of_the_way():
    text = ("def priority(item, bins):\n    return -bins\n\n"
            "def priority_v2(item, bins):\n    return priority(item, bins) * 2\n")
    r, tree = ok(text)
    assert r.helpers == ("priority_base",)
    assert [n.name for n in tree.body] == ["priority_base", "priority"]
    assert tree.body[1].body[0].value.left.func.id == "priority_base"


def test_decorator_on_target_dropped():
    r, tree = ok("@funsearch.evolve\ndef priority_v2(item, bins):\n    return bins\n")
    assert tree.body[0].decorator_list == []


def test_multiline_signature_with_closing_paren_at_column_zero():
    text = "def priority_v2(\n    item: float,\n    bins: np.ndarray,\n) -> np.ndarray:\n    return bins\n"
    r, tree = ok(text)
    assert [a.arg for a in tree.body[0].args.args] == ["item", "bins"]


def test_defaults_allowed():
    r, tree = ok("def priority_v2(item, bins=None):\n    return bins\n")
    assert len(tree.body[0].args.defaults) == 1


def test_other_name_with_matching_parameters_accepted():
    r, tree = ok("def best_fit_improved(item, bins):\n    return -(bins - item)\n")
    assert "renamed best_fit_improved to priority" in r.message


def test_no_code():
    fails("", FailureKind.NO_CODE)
    fails("   \n\n", FailureKind.NO_CODE)
    fails("I think the best approach is to use best fit with a penalty.", FailureKind.NO_CODE)
    fails("```python\nx = 1\nprint(x)\n```", FailureKind.NO_CODE)


def test_syntax_error():
    r = fails("def priority_v2(item, bins)\n    return bins - \n", FailureKind.SYNTAX_ERROR)
    assert r.message.startswith("priority_v2:")
    fails("```python\ndef priority_v2(item, bins):\n```", FailureKind.SYNTAX_ERROR)
    fails("    return bins -\n", FailureKind.SYNTAX_ERROR, header=HEADER)


@pytest.mark.parametrize("params", ["item", "item, bins, k", "bins, item", "item, *bins", "item, bins, *, k=1"])
def test_wrong_signature(params):
    r = fails(f"def priority_v2({params}):\n    return 0\n", FailureKind.WRONG_SIGNATURE)
    assert "does not take (item, bins)" in r.message


def test_wrong_signature_when_only_unrelated_functions():
    r = fails("def helper(x):\n    return x\n", FailureKind.WRONG_SIGNATURE)
    assert "no function named priority_v2" in r.message and "helper(x)" in r.message


def test_async_target_is_wrong_signature():
    fails("async def priority_v2(item, bins):\n    return bins\n", FailureKind.WRONG_SIGNATURE)


def test_docstring_with_column_zero_lines_and_unicode():
    text = 'def priority_v2(item, bins):\n    """Prefer bins\nwith less gap — ü.\n"""\n    gap = bins - item  # ∆\n    return -gap\n'
    r, tree = ok(text)
    assert "∆" in r.source and ast.unparse(tree.body[0].body[-1]) == "return -gap"


def test_rename_function_is_ast_based():
    src = ("def priority(item, bins):\n    note = 'priority(x) stays'\n"
           "    priority_score = 1  # priority\n    return priority(item, bins[1:]) if len(bins) else priority_score\n")
    out = rename_function(src, "priority", "priority_v1")
    assert "'priority(x) stays'" in out and "priority_score = 1  # priority" in out
    fn = ast.parse(out).body[0]
    assert fn.name == "priority_v1"
    assert fn.body[-1].value.body.func.id == "priority_v1"
    with pytest.raises(ValueError, match="no parseable function named missing"):
        rename_function(src, "missing", "x")


def test_normalise_and_hash_ignore_comments_docstrings_layout():
    a = 'def priority(item, bins):\n    """Doc."""\n    # comment\n    return -(bins-item)\n'
    b = "def priority(item,   bins):\n    return -(bins - item)   # other\n"
    c = "def priority(item, bins):\n    return -(bins - item) + 0\n"
    d = "def priority(item, bins):\n    gap = bins - item\n    return -gap\n"
    e = "def priority(item, bins):\n    g = bins - item\n    return -g\n"
    assert normalise(a) == normalise(b) == "def priority(item, bins):\n    return -(bins - item)"
    assert program_hash(a) == program_hash(b) and len(program_hash(a)) == 64
    assert program_hash(a) != program_hash(c)
    assert program_hash(d) != program_hash(e)          # local variable names are kept
    assert normalise('def f():\n    """only a docstring"""\n') == "def f():\n    pass"
    with pytest.raises(ValueError, match="cannot normalise"):
        normalise("def f(:\n")


def test_body_length_prefers_shorter_and_ignores_comments():
    short = "def priority(item, bins):\n    return -bins\n"
    commented = 'def priority(item, bins):\n    """Long docstring here."""\n    return -bins  # note\n'
    longer = "def priority(item, bins):\n    x = bins - item\n    return -x * 2 + 1\n"
    assert body_length(short) == body_length(commented) < body_length(longer)


@pytest.mark.parametrize("text", [
    "```py\r\ndef priority_v2(item, bins):\r\n\treturn -bins\r\n```\r\n",            # CRLF, tabs, ```py
    "1. Here is my code:\n\n    ```python\n    def priority_v2(item, bins):\n        return -bins\n    ```\n",
    "~~~python\ndef priority_v2(item, bins):\n    return -bins\n~~~",
    "<think>\nBest fit is good. def is a keyword.\n</think>\n```python\ndef priority_v2(item, bins):\n    return -bins\n```",
])
def test_fence_variants(text):
    r, tree = ok(text)
    assert ast.unparse(tree.body[0].body[-1]) == "return -bins"


def test_echoed_prompt_takes_v2():
    text = ('"""Online bin packing."""\nimport numpy as np\n\n\ndef priority_v0(item, bins):\n    return -bins\n\n\n'
            'def priority_v1(item, bins):\n    return -(bins - item)\n\n\n'
            'def priority_v2(item, bins):\n    return -(bins - item) ** 2\n')
    r, tree = ok(text)
    assert [ast.unparse(n) for n in tree.body[:1]] == ["import numpy as np"] and len(tree.body) == 2
    assert ast.unparse(tree.body[1].body[0]) == "return -(bins - item) ** 2"


def test_nested_helper_in_body_continuation_survives():
    r, tree = ok("    def inner(x):\n        return x * 2\n    return inner(bins - item)\n", header=HEADER)
    assert [type(s).__name__ for s in tree.body[0].body] == ["Expr", "FunctionDef", "Return"]


def test_call_to_an_undefined_earlier_version_is_noted():
    r, _ = ok("def priority_v2(item, bins):\n    return priority_v1(item, bins) * 2\n")
    assert "calls priority_v1, which the completion does not define" in r.message
    r, _ = ok("def priority_v1(item, bins):\n    return bins\n\ndef priority_v2(item, bins):\n    return priority_v1(item, bins)\n")
    assert r.helpers == ("priority_v1",) and "does not define" not in r.message
