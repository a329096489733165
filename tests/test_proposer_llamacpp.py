"""The embedded llama.cpp backend against the real Qwen2.5-Coder-0.5B GGUF (skipped only without its wheels)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from funsearch.proposers.base import Proposer, ProposerError, SamplingParams, merged_stop
from funsearch.proposers.llamacpp import AMX_FLAG, LlamaCppProposer, check_build

from model_helpers import TEST_THREADS, real_model

pytestmark = pytest.mark.real_model

PROMPT = '''import numpy as np


def priority_v0(item: float, bins: np.ndarray) -> np.ndarray:
    """Returns priority with which we want to add item to each bin."""
    return -(bins - item)


def priority_v1(item: float, bins: np.ndarray) -> np.ndarray:
    """Improved version of `priority_v0`."""
'''


@pytest.fixture(scope="module")
def small():
    spec, _ = real_model("small")
    p = LlamaCppProposer(spec, n_threads=TEST_THREADS, progress=None)
    yield p
    p.close()


def test_build_has_no_amx_and_decodes_in_a_child_process():
    assert AMX_FLAG not in check_build("refuse")
    spec, path = real_model("small")
    code = ("import llama_cpp; m = llama_cpp.Llama(model_path=%r, n_ctx=256, n_threads=1, verbose=False); "
            "print(m.create_completion('Hello', max_tokens=1, seed=0)['usage']['completion_tokens'])" % path)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"1-token decode died with {r.returncode} (a segfault is -11)"
    assert r.stdout.strip() == "1"


def test_short_completion_records_usage(small):
    assert isinstance(small, Proposer) and small.model == "small"
    out = small.complete(PROMPT, SamplingParams(max_tokens=24, seed=1), n=2)
    assert [c.seed for c in out] == [1, 2]
    for c in out:
        assert 60 < c.usage.prompt_tokens < 120  # the Qwen tokenizer's count for PROMPT (~80)
        assert 1 <= c.usage.completion_tokens <= 24
        assert 0 < c.usage.seconds == c.usage.busy_seconds
        assert c.model == "small" and c.finish_reason in ("stop", "length")
        assert "\ndef " not in c.text  # the model's default stop sequences apply


def test_same_seed_same_text_and_seeds_differ(small):
    params = SamplingParams(temperature=1.0, max_tokens=16, seed=42)
    a = small.complete(PROMPT, params, n=4)
    b = small.complete(PROMPT, params, n=1)
    assert b[0].text == a[0].text
    c = small.complete(PROMPT, SamplingParams(temperature=1.0, max_tokens=16, seed=43), n=1)
    assert c[0].text == a[1].text  # sample i of a call is seed + i
    assert len({x.text for x in a}) > 1


def test_length_limit_and_request_stop(small):
    cut = small.complete("Count to one hundred: 1, 2, 3,", SamplingParams(temperature=0.0, max_tokens=5, seed=0))[0]
    assert cut.usage.completion_tokens == 5 and cut.finish_reason == "length"
    stop = small.complete("Count to one hundred: 1, 2, 3,",
                          SamplingParams(temperature=0.0, max_tokens=40, stop=(" 6",), seed=0))[0]
    assert stop.finish_reason == "stop" and " 6" not in stop.text and "5" in stop.text


def test_chat_mode_uses_the_template():
    spec, _ = real_model("small")
    p = LlamaCppProposer(spec, n_threads=TEST_THREADS, chat=True, system_prompt="Answer with one word.",
                         progress=None)
    try:
        c = p.complete("What is the capital of France?", SamplingParams(temperature=0.0, max_tokens=8))[0]
    finally:
        p.close()
    assert "Paris" in c.text
    assert c.usage.prompt_tokens > 20  # the chat template wraps the 8-token question
    with pytest.raises(ProposerError, match="is closed"):
        p.complete("x", SamplingParams())


def test_wrong_file_is_refused_before_loading(tmp_path):
    spec, _ = real_model("small")
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(ProposerError, match="refusing to load"):
        LlamaCppProposer(spec, model_path=bogus, n_threads=TEST_THREADS, progress=None)


def test_merged_stop_keeps_request_first_without_duplicates():
    assert merged_stop(("\ndef ", "\nclass "), SamplingParams(stop=("\nclass ", "", "END"))) == \
        ["\nclass ", "END", "\ndef "]


def test_reused_prompt_prefix_is_reported_as_cached(small):
    small._llm.reset()
    first, second = small.complete(PROMPT, SamplingParams(max_tokens=8, seed=5), n=2)
    assert first.usage.cached_prompt_tokens == 0  # cold KV cache: the whole prompt is computed
    # the second sample shares the whole prompt with the first: all but the last token come from the cache
    assert second.usage.cached_prompt_tokens == second.usage.prompt_tokens - 1


def test_forced_divergence_turns_a_greedy_copy_into_a_change(small):
    """Greedy decoding copies the last parent of this prompt; with a divergence it may not, and writes another
    program (the real model and the real logits processor; program/divergence.py)."""
    import random

    from funsearch.problem.loader import load_problem
    from funsearch.program.canonical import program_hash
    from funsearch.program.prompt import PromptView
    from funsearch.program.strategies import plan_prompt
    from funsearch.search.bookkeeping import extract

    prob = load_problem("problems/bin_packing.py")
    view = PromptView(prob.preamble, prob.function_name, prob.signature, prob.docstring)
    parents = [prob.baseline_source, f"def priority{prob.signature}:\n    return item / bins\n"]
    plan = plan_prompt("classic", view, parents, random.Random(0), diverge=True)
    hashes = {program_hash(p) for p in parents}

    def program(divergence):
        params = SamplingParams(temperature=0.0, max_tokens=60, seed=0, divergence=divergence)
        c = small.complete(plan.text, params)[0]
        return c.text, extract(0, c, prob.function_name, prob.parameters, plan.header)

    text, copied = program(None)
    assert copied.program_hash in hashes, f"premise: greedy decoding copies a parent here, got {text!r}"
    text, changed = program(plan.divergence)
    assert changed.source is not None and changed.program_hash not in hashes, text
    assert not text.startswith("    return item / bins\n")
