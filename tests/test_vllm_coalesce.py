"""The vLLM backend coalesces concurrent calls into one `generate` call (a batch), with a stand-in engine: vLLM
itself runs only on a GPU (tests/test_vllm.py)."""
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace

from funsearch.proposers.base import SamplingParams
from funsearch.proposers.vllm_engine import VllmProposer
from funsearch.weights.registry import resolve_model


@dataclass
class Sampling:  # stands in for vllm.SamplingParams
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    stop: list | None
    seed: int


class FakeLLM:
    """generate() takes 0.2 s whatever the batch (a GPU's decode step is memory-bound) and echoes each seed."""

    def __init__(self):
        self.calls = []

    def generate(self, texts, sps, use_tqdm=False):
        self.calls.append(len(texts))
        time.sleep(0.2)
        return [SimpleNamespace(outputs=[SimpleNamespace(text=f"{t}:{sp.seed}", token_ids=[1, 2], finish_reason="stop")],
                                prompt_token_ids=[0] * 3, metrics=None) for t, sp in zip(texts, sps)]


def proposer() -> VllmProposer:
    p = object.__new__(VllmProposer)  # no engine load: the stand-in below
    p.spec, p.model, p.chat, p.system_prompt = resolve_model("small"), "small", False, None
    p._llm = FakeLLM()
    p._coalesce(Sampling)
    return p


def test_concurrent_calls_share_generate_calls_and_keep_their_own_seeds():
    p = proposer()
    out = {}

    def call(k):
        out[k] = p.complete(f"p{k}", SamplingParams(seed=10 * k), n=2)

    threads = [threading.Thread(target=call, args=(k,)) for k in range(12)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    assert sum(p._llm.calls) == 24 and len(p._llm.calls) < 12 and max(p._llm.calls) >= 4  # batched
    assert wall < 12 * 0.2 / 2  # far less than one call after another
    for k in range(12):
        assert [c.text for c in out[k]] == [f"p{k}:{10 * k}", f"p{k}:{10 * k + 1}"]
        assert [c.seed for c in out[k]] == [10 * k, 10 * k + 1]
        assert all(c.usage.completion_tokens == 2 and 0 < c.usage.busy_seconds <= c.usage.seconds for c in out[k])


def test_a_failed_batch_fails_every_caller_in_it_with_one_line():
    p = proposer()
    p._llm.generate = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("CUDA out of memory\nmore"))
    errors = []

    def call():
        try:
            p.complete("x", SamplingParams())
        except Exception as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 3 and all(
        e.startswith("vLLM generate failed: CUDA out of memory") and "\n" not in e for e in errors)
