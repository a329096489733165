"""vLLM in-process engine backend (GPU). The orchestrator wraps it in a Ray actor that reserves num_gpus.

vllm is imported lazily, so this module imports anywhere; constructing the proposer without the
[vllm] extra gives a one-line ProposerError. The n samples of a call go to the engine in one
`generate` call as n requests with seeds params.seed + i (one SamplingParams each): vLLM batches
them continuously and, with prefix caching, evaluates the shared prompt once, while every sample
stays replayable by its own seed, like the other backends.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

from funsearch.proposers.base import Completion, ProposerError, SamplingParams, Usage, merged_stop
from funsearch.weights.registry import ModelSpec


def vllm_available() -> str | None:
    """None when vllm imports and a CUDA GPU is visible, else the reason it can't run here (one line)."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        return "vllm is not installed (pip install 'funsearch[vllm]')"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible"
    return None


class VllmProposer:
    """A vLLM `LLM` engine in this process.

    Attributes:
      model: the registry name (Completion.model).
      spec: the registry entry (its `vllm` section says which weights, dtype and tensor parallelism).
      chat: True to apply the tokenizer's chat template to each prompt.
      tensor_parallel_size: GPUs the engine spans.
      load_seconds: engine start-up time.
    """

    def __init__(self, spec: ModelSpec, *, model: str | None = None, tensor_parallel_size: int | None = None,
                 dtype: str | None = None, max_model_len: int | None = None, gpu_memory_utilization: float = 0.85,
                 enable_prefix_caching: bool = True, chat: bool | None = None, system_prompt: str | None = None,
                 offline: bool = True, **engine_kwargs: Any):
        if spec.vllm is None and model is None:
            raise ProposerError(f"model '{spec.name}' has no vLLM weights in the registry; pass --model PATH_OR_ID")
        w = spec.vllm
        self.spec, self.model = spec, spec.name
        self.weights = model or (w.model if w else "")
        self.tensor_parallel_size = tensor_parallel_size or (w.tensor_parallel if w else 1)
        self.chat = spec.chat if chat is None else chat
        self.system_prompt = system_prompt if system_prompt is not None else spec.system_prompt
        if offline:  # never download weights at run time: read the local HF cache or a local folder only
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before vllm (and huggingface_hub) read it at import
        try:
            from vllm import LLM
        except ImportError:
            raise ProposerError("vllm is not installed: pip install 'funsearch[vllm]' (needs an NVIDIA GPU)") from None
        t0 = time.perf_counter()
        try:
            self._llm: Any = LLM(
                model=self.weights, dtype=dtype or (w.dtype if w else "auto"),
                tensor_parallel_size=self.tensor_parallel_size,
                max_model_len=max_model_len or (w.max_model_len if w else None),
                gpu_memory_utilization=gpu_memory_utilization, enable_prefix_caching=enable_prefix_caching,
                **engine_kwargs)
        except Exception as exc:  # vLLM raises many kinds; the caller needs one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ProposerError(f"vLLM could not load {self.weights}: {first[:300]}") from None
        self.load_seconds = time.perf_counter() - t0
        self._lock = threading.Lock()

    def _render(self, prompt: str) -> str:
        if not self.chat:
            return prompt
        msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        msgs.append({"role": "user", "content": prompt})
        return self._llm.get_tokenizer().apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        """n samples in one engine call; Usage from the token ids, seconds from the engine's timings when given."""
        from vllm import SamplingParams as VSP

        text = self._render(prompt)
        stop = merged_stop(self.spec.stop, params) or None
        sps = [VSP(n=1, temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens,
                   stop=stop, seed=params.seed + i) for i in range(n)]
        with self._lock:
            if self._llm is None:
                raise ProposerError(f"vLLM proposer for '{self.model}' is closed")
            t0 = time.perf_counter()
            outs = self._llm.generate([text] * n, sps, use_tqdm=False)
            wall = time.perf_counter() - t0
        result = []
        for i, out in enumerate(outs):
            seq = out.outputs[0]
            seconds = _request_seconds(out) or wall
            cached = int(getattr(out, "num_cached_tokens", None) or 0)
            usage = Usage(len(out.prompt_token_ids or ()), len(seq.token_ids), seconds, wall / max(n, 1),
                          cached_prompt_tokens=cached)
            extra = {"num_cached_tokens": cached}
            result.append(Completion(seq.text, usage, self.model, params.seed + i, seq.finish_reason or "stop", extra))
        return result

    def close(self) -> None:
        with self._lock:
            self._llm = None  # vLLM frees the GPU when the engine is garbage-collected (or the actor exits)


def _request_seconds(out: Any) -> float | None:
    """Arrival-to-finish seconds from a RequestOutput's metrics, when this vLLM version fills them."""
    m = getattr(out, "metrics", None)
    start = getattr(m, "arrival_time", None)
    end = getattr(m, "finished_time", None) or getattr(m, "last_token_time", None)
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and end >= start:
        return float(end - start)
    return None
