"""program.prompt: FunSearch-style prompts from parents."""
import ast

import pytest

from funsearch.program.extract import extract_function
from funsearch.program.prompt import PromptView, build_prompt, chat_messages, completion_header, stop_sequences

VIEW = PromptView(
    preamble='"""Online bin packing: minimise the number of bins."""\nimport numpy as np\n',
    function_name="priority",
    signature="(item: float, bins: np.ndarray) -> np.ndarray",
    docstring="Returns the priority with which we want to add `item` to each bin.",
)
FIRST_FIT = ('def priority(item: float, bins: np.ndarray) -> np.ndarray:\n'
             '    """Original docstring."""\n    return -np.arange(len(bins))\n')
BEST_FIT = ("import math\nimport numpy as np\n\n\ndef priority(item, bins):\n    # best fit; priority() is recursive below\n"
            "    if len(bins) == 0:\n        return priority(item, bins)\n"
            "    label = 'priority'\n    return -(bins - item)\n")


def functions(text):
    return {n.name: n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}


def test_parents_renamed_in_order_with_docstrings_and_open_header():
    prompt = build_prompt(VIEW, [FIRST_FIT, BEST_FIT])
    assert prompt.startswith(VIEW.preamble.rstrip())
    assert prompt.endswith('def priority_v2(item: float, bins: np.ndarray) -> np.ndarray:\n'
                           '    """Improved version of `priority_v1`."""\n')
    fns = functions(prompt + "    pass\n")
    assert list(fns) == ["priority_v0", "priority_v1", "priority_v2"]
    assert ast.get_docstring(fns["priority_v0"]) == VIEW.docstring
    assert ast.get_docstring(fns["priority_v1"]) == "Improved version of `priority_v0`."
    assert ast.unparse(fns["priority_v0"].body[-1]) == "return -np.arange(len(bins))"
    recursive = fns["priority_v1"].body[1].body[0].value
    assert recursive.func.id == "priority_v1"
    assert "label = 'priority'" in prompt                       # strings are not renamed
    assert "# best fit; priority() is recursive below" in prompt  # nor comments
    assert prompt.count("import numpy as np") == 1 and "import math" in prompt
    assert prompt.index("def priority_v0") < prompt.index("def priority_v1")


def test_no_parents_asks_for_v0_with_the_problem_docstring():
    prompt = build_prompt(VIEW, [])
    assert prompt.endswith(f'def priority_v0{VIEW.signature}:\n    """{VIEW.docstring}"""\n')
    assert "Improved version" not in prompt


def test_three_parents_ask_for_v3():
    prompt = build_prompt(VIEW, [FIRST_FIT, BEST_FIT, FIRST_FIT])
    assert prompt.endswith('    """Improved version of `priority_v2`."""\n')
    assert completion_header(VIEW, 3).startswith("def priority_v3(")


def test_completion_round_trip_through_extract_function():
    prompt = build_prompt(VIEW, [FIRST_FIT, BEST_FIT])
    completion = "    gap = bins - item\n    return -gap ** 2\n"
    result = extract_function(completion, "priority", ("item", "bins"), header=completion_header(VIEW, 2))
    assert result.failure is None
    fn = functions(result.source)["priority"]
    assert ast.unparse(fn.body[-1]) == "return -gap ** 2"
    assert ast.parse(prompt + completion)                   # the prompt plus a body is valid Python


def test_docstring_inserted_after_multiline_header_and_one_line_def():
    parent = "def priority(\n    item,\n    bins,\n):  # note\n    # comment\n    return bins\n"
    one_line = "def priority(item, bins): return -bins\n"
    fns = functions(build_prompt(VIEW, [parent, one_line]) + "    pass\n")
    assert ast.get_docstring(fns["priority_v0"]) == VIEW.docstring
    assert ast.get_docstring(fns["priority_v1"]) == "Improved version of `priority_v0`."
    assert ast.unparse(fns["priority_v1"].body[-1]) == "return -bins"


def test_multiline_and_quoted_docstring_stays_valid():
    view = PromptView(VIEW.preamble, "priority", VIEW.signature, 'Line one.\n\nSays """hi""".')
    prompt = build_prompt(view, [FIRST_FIT])
    assert ast.get_docstring(functions(prompt + "    pass\n")["priority_v0"]) == 'Line one.\n\nSays """hi""".'


def test_parent_without_the_function_is_an_error():
    with pytest.raises(ValueError, match="no parseable function named priority"):
        build_prompt(VIEW, ["def other(item, bins):\n    return bins\n"])


def test_stop_sequences():
    stops = stop_sequences()
    assert set(stops) == {"\ndef ", "\nclass ", "\nif __name__", "\n```", "\nprint("}
    body = "    return -bins\n\ndef helper():\n    pass\n"
    cut = min((body.find(s) for s in stops if s in body), default=len(body))
    assert body[:cut] == "    return -bins\n"
    assert not any(s in "    def inner(x):\n        return x\n" for s in stops)   # nested helpers survive


def test_chat_messages_ask_for_one_function_in_one_block():
    messages = chat_messages(VIEW, [FIRST_FIT, BEST_FIT])
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert "`priority_v2`" in user and "improved version of `priority_v1`" in user
    assert "taking exactly (item, bins)" in user and "exactly one ```python block" in user
    code = user.split("```python\n", 1)[1].split("\n```", 1)[0]
    assert list(functions(code)) == ["priority_v0", "priority_v1"]
