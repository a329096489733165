"""vLLM in-process engine backend (GPU). The orchestrator wraps it in a Ray actor that reserves num_gpus.

vllm is imported lazily, so this module imports anywhere; constructing the proposer without the
[vllm] extra gives a one-line ProposerError. The n samples of a call go to the engine in one
`generate` call as n requests with seeds params.seed + i (one SamplingParams each): vLLM batches
them continuously and, with prefix caching, evaluates the shared prompt once, while every sample
stays replayable by its own seed, like the other backends. Calls made at once from several threads (a threaded
Ray actor holding several prompts: `--in-flight`) are coalesced: whoever finds the engine free runs every request
waiting in one `generate` call, so the engine decodes them as one batch.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

from funsearch.messages import one_line
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
        from vllm import SamplingParams as VSP
        self._coalesce(VSP)

    def _coalesce(self, sampling: Any) -> None:
        """The engine lock, the requests waiting for it, and the batch sizes run (set at load)."""
        self._sampling, self._lock, self._waiting_lock = sampling, threading.Lock(), threading.Lock()
        self._waiting: list[dict] = []
        self.batches: list[int] = []

    def _render(self, prompt: str) -> str:
        if not self.chat:
            return prompt
        msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        msgs.append({"role": "user", "content": prompt})
        return self._llm.get_tokenizer().apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        """n samples in one engine call; Usage from the token ids, seconds from the engine's timings when given."""
        text = self._render(prompt)
        stop = merged_stop(self.spec.stop, params) or None
        sps = [self._sampling(n=1, temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens,
                              stop=stop, seed=params.seed + i) for i in range(n)]
        job = {"texts": [text] * n, "sps": sps, "done": threading.Event()}
        with self._waiting_lock:
            self._waiting.append(job)
        while not job["done"].is_set():
            if self._lock.acquire(timeout=0.005):  # the engine is free: run everything waiting, as one batch
                try:
                    self._run_waiting()
                finally:
                    self._lock.release()
        if "error" in job:
            raise job["error"]
        outs, wall, busy = job["outs"], job["wall"], job["busy"]  # busy: the batch's time per sequence
        result = []
        for i, out in enumerate(outs):
            seq = out.outputs[0]
            seconds = _request_seconds(out) or wall
            cached = int(getattr(out, "num_cached_tokens", None) or 0)
            usage = Usage(len(out.prompt_token_ids or ()), len(seq.token_ids), seconds, busy,
                          cached_prompt_tokens=cached)
            extra = {"num_cached_tokens": cached}
            result.append(Completion(seq.text, usage, self.model, params.seed + i, seq.finish_reason or "stop", extra))
        return result

    def _run_waiting(self) -> None:
        """One `generate` call for every request waiting (the caller holds the engine lock)."""
        with self._waiting_lock:
            jobs, self._waiting = self._waiting, []
        if not jobs:
            return
        try:
            if self._llm is None:
                raise ProposerError(f"vLLM proposer for '{self.model}' is closed")
            t0 = time.perf_counter()
            outs = self._llm.generate([t for j in jobs for t in j["texts"]], [sp for j in jobs for sp in j["sps"]],
                                      use_tqdm=False)
            wall = time.perf_counter() - t0
            self.batches.append(len(outs))
            at = 0
            for j in jobs:
                j["outs"], j["wall"], j["busy"] = outs[at: at + len(j["texts"])], wall, wall / max(1, len(outs))
                at += len(j["texts"])
        except Exception as exc:  # every caller of this batch gets the error
            for j in jobs:
                j["error"] = exc if isinstance(exc, ProposerError) else ProposerError(
                    f"vLLM generate failed: {one_line(str(exc) or type(exc).__name__, 300)}")
        for j in jobs:
            j["done"].set()

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
