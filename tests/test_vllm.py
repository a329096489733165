"""The vLLM engine backend: runs only where vllm, a CUDA GPU and local weights are present.

Elsewhere these tests are skipped with the reason; the import-light checks at the top always run.
"""
from __future__ import annotations

import os

import pytest

from funsearch.proposers.base import ProposerError, SamplingParams
from funsearch.proposers.factory import make_proposer
from funsearch.proposers.vllm_engine import vllm_available
from funsearch.weights.registry import load_registry


def test_missing_vllm_or_weights_is_a_one_line_error():
    reg = load_registry()
    if vllm_available() == "vllm is not installed (pip install 'funsearch[vllm]')":
        with pytest.raises(ProposerError, match=r"^vllm is not installed: pip install 'funsearch\[vllm\]'"):
            make_proposer(reg["small"], "vllm")
    spec = reg["small"]
    no_vllm = type(spec)(**{**spec.__dict__, "vllm": None})
    with pytest.raises(ProposerError, match="has no vLLM weights"):
        make_proposer(no_vllm, "vllm")


WEIGHTS = os.environ.get("FUNSEARCH_VLLM_TEST_MODEL")  # a local HF folder or cached id of a small model
_missing = vllm_available()
SKIP_REASON = (f"vLLM backend needs vllm and a CUDA GPU: {_missing}" if _missing else
               None if WEIGHTS else "set FUNSEARCH_VLLM_TEST_MODEL to a local model folder (no hub downloads)")


@pytest.mark.gpu
@pytest.mark.skipif(SKIP_REASON is not None, reason=str(SKIP_REASON))
def test_vllm_samples_with_usage_and_seeds():
    spec = load_registry()["small"]
    p = make_proposer(spec, "vllm", model=WEIGHTS, max_model_len=2048, gpu_memory_utilization=0.5)
    try:
        params = SamplingParams(max_tokens=32, seed=11)
        out = p.complete("def fib(n: int) -> int:\n", params, n=4)
        assert [c.seed for c in out] == [11, 12, 13, 14]
        for c in out:
            assert c.usage.prompt_tokens > 3 and 1 <= c.usage.completion_tokens <= 32
            assert 0 < c.usage.busy_seconds <= c.usage.seconds + 1e-6
        again = p.complete("def fib(n: int) -> int:\n", SamplingParams(max_tokens=32, seed=12))
        assert again[0].text == out[1].text
    finally:
        p.close()
