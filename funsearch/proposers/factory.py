"""Build a proposer for a registry model and a backend name. Backends are imported only when chosen."""
from __future__ import annotations

from typing import Any

from funsearch.proposers.base import Proposer, ProposerError
from funsearch.weights.registry import ModelSpec

BACKENDS = ("llamacpp", "openai", "vllm", "scripted")


def make_proposer(spec: ModelSpec, backend: str = "llamacpp", **options: Any) -> Proposer:
    """A proposer for `spec`.

    Options by backend:
      llamacpp: n_threads=2, n_ctx=4096, chat, system_prompt, model_path, amx, reset_between_samples, progress.
      openai: base_url (required), served_model, endpoint, api_key_env, timeout, retries, backoff, max_concurrency.
      vllm: tensor_parallel_size, dtype, max_model_len, gpu_memory_utilization, model, plus vLLM engine kwargs.
      scripted: texts (required), when_exhausted, seconds.
    """
    if backend == "llamacpp":
        from funsearch.proposers.llamacpp import LlamaCppProposer

        return LlamaCppProposer(spec, **options)
    if backend == "openai":
        from funsearch.proposers.openai_http import OpenAIProposer

        base_url = options.pop("base_url", None)
        if not base_url:
            raise ProposerError("the openai backend needs base_url (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIProposer.from_spec(spec, base_url, **options)
    if backend == "vllm":
        from funsearch.proposers.vllm_engine import VllmProposer

        return VllmProposer(spec, **options)
    if backend == "scripted":
        from funsearch.proposers.scripted import ScriptedProposer

        texts = options.pop("texts", None)
        if not texts:
            raise ProposerError("the scripted backend needs texts=[...]")
        return ScriptedProposer(texts, model=spec.name, **options)
    raise ProposerError(f"unknown backend '{backend}': choose one of {', '.join(BACKENDS)}")
