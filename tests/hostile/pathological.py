"""Pathological candidate texts for bin packing's `priority(item, bins)` (not a candidate file itself: the
corpus, generated). What an LLM (or a broken tokenizer) can emit and the harness must survive in its own
process: nesting of every kind deep enough to overflow Python's parser, its compiler or `ast.unparse`; huge
literals; NUL bytes; text that is not UTF-8. Each entry: name -> (text or bytes, the failure class expected;
None: a valid program). tests/test_hostile_sources.py feeds them to `funsearch eval --json` and to a scripted run.
"""
from __future__ import annotations

DEEP = 100_000  # far past every limit of the parser (its stack, 200 nested brackets, 100 indentation levels)
HEAD = "def priority(item, bins):\n"


def _returning(expression: str) -> str:
    return f"{HEAD}    return {expression}\n"


def _nested_blocks(opener: str, depth: int, body: str) -> str:
    """`depth` nested blocks (one space of indentation each) inside priority's body."""
    lines = [HEAD]
    for level in range(depth):
        lines.append("    " + " " * level + opener.format(level=level) + "\n")
    lines.append("    " + " " * depth + body + "\n")
    lines.append("    return bins\n")
    return "".join(lines)


def _elif_chain(n: int) -> str:
    arms = "".join(f"    elif item < {k}:\n        bins = bins + {k}\n" for k in range(n))
    return f"{HEAD}    if item < 0:\n        pass\n{arms}    return -(bins - item)\n"


def corpus() -> dict[str, tuple[str | bytes, str | None]]:
    """name -> (candidate text, or the raw bytes of a candidate file; expected failure class or None)."""
    syntax = "syntax_error"
    return {
        "deep_parentheses": (_returning("(" * DEEP + "bins" + ")" * DEEP), syntax),
        "deep_brackets": (_returning("[" * DEEP + "bins" + "]" * DEEP), syntax),
        "deep_braces": (_returning("{1: " * DEEP + "bins" + "}" * DEEP), syntax),
        "deep_lambdas": (_returning("lambda:" * DEEP + "bins"), syntax),
        "deep_unary_minus": (_returning("-" * DEEP + "bins"), syntax),
        "deep_not": (_returning("not " * DEEP + "bins"), syntax),
        "deep_if_else_expression": (_returning("bins if item else " * (DEEP // 4) + "bins"), syntax),
        "long_string_concatenation": (_returning("+".join(['"a"'] * DEEP)), syntax),
        "long_addition_chain": (_returning("+".join(["bins"] * DEEP)), syntax),
        "long_attribute_chain": (_returning("bins" + ".T" * DEEP), syntax),
        "long_subscript_chain": (_returning("bins" + "[:]" * DEEP), syntax),
        "long_power_chain": (_returning("**".join(["1"] * DEEP)), syntax),
        "deep_nested_defs": (_nested_blocks("def f{level}():", 1000, "pass"), syntax),
        "deep_if_statements": (_nested_blocks("if item >= {level}:", 1000, "pass"), syntax),
        "deep_nested_classes": (_nested_blocks("class C{level}:", 1000, "pass"), syntax),
        "deep_elif_chain": (_elif_chain(20_000), syntax),
        # deep, but within every limit: a valid program (nested defs, 90 levels; 60 elifs), judged as usual
        "nested_defs_within_limits": (_nested_blocks("def f{level}():", 90, "pass"), None),
        "elif_chain_within_limits": (_elif_chain(60), None),
        # nesting the parser takes but ast.unparse (normalising, hashing) recurses too deep for: still valid
        "unparse_deep_unary_minus": (_returning("-" * 800 + "bins"), None),
        "unparse_deep_string_concatenation": (_returning("+".join(['"a"'] * 900) + " and -(bins - item)"), None),
        "huge_integer_literal": (_returning("1" * 200_000), syntax),
        "huge_string_literal": (_returning('"' + "a" * 2_000_000 + '"'), syntax),
        "huge_float_literal": (_returning("bins * 0 + 1" + "0" * 400 + ".0"), "bad_output"),  # inf priorities
        "null_byte": (_returning("bins\x00"), syntax),
        "null_byte_in_string": (_returning('bins if "\x00" else bins'), syntax),
        "lone_surrogate": (_returning("bins \ud800"), syntax),  # U+FFFD in a run; bytes ED A0 80 in a file
        "invalid_utf8_bytes": (HEAD.encode() + b"    return bins  # \xff\xfe\xc3\x28\n", syntax),
        "encoded_surrogate_bytes": (HEAD.encode() + b'    return bins if "\xed\xa0\x80" else bins\n', syntax),
        "unknown_coding_line": (b"# -*- coding: no-such-codec -*-\n" + HEAD.encode() + b"    return bins\n", syntax),
    }
