"""OpenAI-compatible HTTP backend (completions and chat): `vllm serve`, llama.cpp's server, hosted APIs.

One kept `httpx.AsyncClient` per proposer, on its own event-loop thread: connections are pooled and kept alive
(at most max_concurrency, also the limit on requests in flight), and any number of callers (a threaded Ray actor
holding several prompts) submit requests to it at once. Each sample is its own request (llama.cpp's server
ignores `n`), with seed params.seed + i. Connection failures, timeouts and HTTP 408/409/429/5xx are retried
with exponential backoff (Retry-After honoured up to max_backoff).
"""
from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from typing import Any, Literal

import httpx

from funsearch.messages import one_line
from funsearch.proposers.base import Completion, ProposerError, SamplingParams, Usage, merged_stop
from funsearch.weights.registry import ModelSpec

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    """A failure worth another attempt (one-line description in args[0], Retry-After in args[1])."""


class OpenAIProposer:
    """A client of an OpenAI-compatible server.

    Attributes:
      model: the registry name reported on completions (e.g. "small").
      base_url: the API root, e.g. "http://127.0.0.1:8000/v1".
      served_model: the `model` field sent to the server (vLLM checks it; llama.cpp's server does not).
      endpoint: "completions" (raw prompt) or "chat" (the prompt is the user message).
      api_key_env: name of the environment variable holding the key; no Authorization header when unset.
      timeout: seconds per request (connect + response).
      retries: attempts after the first one.
      backoff: first retry delay in seconds, doubled each attempt up to max_backoff.
      max_concurrency: requests in flight at once from this proposer.
      stop: default stop sequences added to each request's own.
      system_prompt: system message in chat mode.
      extra_body: extra JSON fields sent with every request (e.g. {"top_k": 40}).
    """

    def __init__(self, model: str, base_url: str, *, served_model: str | None = None,
                 endpoint: Literal["completions", "chat"] = "completions", api_key_env: str | None = "OPENAI_API_KEY",
                 timeout: float = 120.0, retries: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 max_concurrency: int = 4, stop: tuple[str, ...] = (), system_prompt: str | None = None,
                 extra_body: dict[str, Any] | None = None):
        if endpoint not in ("completions", "chat"):
            raise ProposerError(f"endpoint must be 'completions' or 'chat', not {endpoint!r}")
        if max_concurrency < 1 or retries < 0 or timeout <= 0:
            raise ProposerError("max_concurrency must be >= 1, retries >= 0 and timeout > 0")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.served_model = served_model or model
        self.endpoint, self.api_key_env = endpoint, api_key_env
        self.timeout, self.retries = float(timeout), int(retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.max_concurrency, self.stop = int(max_concurrency), tuple(stop)
        self.system_prompt, self.extra_body = system_prompt, dict(extra_body or {})
        self._closed = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openai-http", daemon=True)
        self._thread.start()
        self._client, self._slots = self._call(self._open()).result()

    @classmethod
    def from_spec(cls, spec: ModelSpec, base_url: str, **options: Any) -> "OpenAIProposer":
        """A client for a registry model: chat mode, stops and system prompt from the spec; served name = the
        spec's vLLM id."""
        options.setdefault("served_model", spec.vllm.model if spec.vllm else spec.name)
        options.setdefault("endpoint", "chat" if spec.chat else "completions")
        options.setdefault("stop", spec.stop)
        options.setdefault("system_prompt", spec.system_prompt)
        return cls(spec.name, base_url, **options)

    @property
    def url(self) -> str:
        return f"{self.base_url}/{'chat/completions' if self.endpoint == 'chat' else 'completions'}"

    def _body(self, prompt: str, params: SamplingParams, seed: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.served_model, "max_tokens": params.max_tokens, "temperature": params.temperature,
            "top_p": params.top_p, "seed": seed, "n": 1, "stream": False,
        }
        stop = merged_stop(self.stop, params)
        if stop:
            body["stop"] = stop
        if self.endpoint == "chat":
            msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
            body["messages"] = msgs + [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        body.update(self.extra_body)
        return body

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    async def _open(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)

        client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout), limits=limits)
        return client, asyncio.Semaphore(self.max_concurrency)

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            async with self._slots:
                resp = await self._client.post(self.url, content=json.dumps(body).encode(), headers=headers)
        except httpx.TimeoutException:
            raise _Retryable(f"timed out after {self.timeout:g} s", None) from None
        except httpx.ConnectError as exc:
            raise _Retryable(f"unreachable: {one_line(str(exc) or type(exc).__name__, 200)}", None) from None
        except (httpx.TransportError, OSError) as exc:
            raise _Retryable(f"connection failed: {one_line(str(exc) or type(exc).__name__, 200)}", None) from None
        if resp.status_code >= 400:
            detail = one_line(resp.text, 200)
            if resp.status_code in RETRY_STATUS:
                raise _Retryable(f"HTTP {resp.status_code}: {detail}", resp.headers.get("Retry-After"))
            raise ProposerError(f"{self.url}: HTTP {resp.status_code}: {detail}")
        try:
            return resp.json()
        except ValueError as exc:
            raise ProposerError(f"{self.url}: response is not JSON: {one_line(str(exc), 200)}") from None

    async def _request(self, prompt: str, params: SamplingParams, seed: int) -> Completion:
        body = self._body(prompt, params, seed)
        t0 = time.perf_counter()
        for attempt in range(self.retries + 1):
            if self._closed.is_set():
                raise ProposerError(f"openai proposer for '{self.model}' is closed")
            try:
                data = await self._post(body)
                break
            except _Retryable as exc:
                if attempt == self.retries:
                    raise ProposerError(f"{self.url}: {exc.args[0]} (after {attempt + 1} attempts)") from None
                delay = min(self.backoff * 2 ** attempt, self.max_backoff)
                retry_after = exc.args[1]
                if retry_after and str(retry_after).replace(".", "", 1).isdigit():
                    delay = min(max(delay, float(retry_after)), self.max_backoff)
                await asyncio.sleep(delay)
        seconds = time.perf_counter() - t0
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if self.endpoint == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise ProposerError(f"{self.url}: unexpected response: {one_line(json.dumps(data), 200)}") from None
        u = data.get("usage") or {}
        usage = Usage(int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0)), seconds, seconds)
        extra = {} if u else {"usage_missing": True}
        return Completion(text or "", usage, self.model, seed, choice.get("finish_reason") or "stop", extra)

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        """n requests (sample i with seed params.seed + i), sent at once; at most max_concurrency in flight
        over all callers. Safe to call from many threads."""
        if self._closed.is_set():
            raise ProposerError(f"openai proposer for '{self.model}' is closed")
        futures = [self._call(self._request(prompt, params, params.seed + i)) for i in range(n)]
        return [f.result() for f in futures]

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._call(self._client.aclose()).result(timeout=5)
        except Exception:  # closing is best effort
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
