"""The OpenAI-compatible HTTP backend against a real `python -m llama_cpp.server` on 127.0.0.1 with the small model.

Retries, errors and the concurrency limit go through a small real HTTP proxy in front of that
server, which can answer 503/400, stall, and counts requests in flight.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from funsearch.proposers.base import Proposer, ProposerError, SamplingParams
from funsearch.proposers.openai_http import OpenAIProposer

from model_helpers import TEST_THREADS, real_model

pytestmark = pytest.mark.real_model

PROMPT = "def add(a: int, b: int) -> int:\n    \"\"\"Return the sum of a and b.\"\"\"\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    spec, path = real_model("small")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    log = open(log_path, "w")  # a file, not a pipe: an undrained pipe would block the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", path, "--model_alias", "small",
         "--n_ctx", "2048", "--n_threads", str(TEST_THREADS), "--n_threads_batch", str(TEST_THREADS),
         "--host", "127.0.0.1", "--port", str(port), "--verbose", "False"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(base + "/models", timeout=2) as r:
                assert "small" in r.read().decode()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail(f"llama_cpp.server did not come up: {log_path.read_text()[-300:]}")
            time.sleep(0.3)
    yield spec, base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


class _Proxy:
    """Forwards POSTs to `upstream`, after answering the first `fail` requests with `status`; tracks concurrency."""

    def __init__(self, upstream: str, fail: int = 0, status: int = 503, stall: float = 0.0):
        self.upstream, self.fail, self.status, self.stall = upstream, fail, status, stall
        self.requests = self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with proxy.lock:
                    proxy.requests += 1
                    k = proxy.requests
                    proxy.in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
                try:
                    if k <= proxy.fail:
                        self._send(proxy.status, b'{"error": {"message": "injected failure\\nsecond line"}}')
                        return
                    time.sleep(proxy.stall)
                    req = urllib.request.Request(proxy.upstream + self.path[len("/v1"):], data=body,
                                                 headers={"Content-Type": "application/json"})
                    with urllib.request.urlopen(req, timeout=60) as r:
                        self._send(r.status, r.read())
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1

            def _send(self, code, data):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_completions_with_usage_seeds_and_stop(server):
    spec, base = server
    p = OpenAIProposer.from_spec(spec, base, served_model="small", max_concurrency=1)
    assert isinstance(p, Proposer) and p.endpoint == "completions"
    params = SamplingParams(max_tokens=24, seed=5, stop=("\n\n",))
    out = p.complete(PROMPT, params, n=3)  # the server ignores n: three requests
    assert [c.seed for c in out] == [5, 6, 7]
    for c in out:
        assert 15 < c.usage.prompt_tokens < 40 and 1 <= c.usage.completion_tokens <= 24
        assert c.usage.seconds > 0 and c.model == "small" and "\n\n" not in c.text
        assert c.extra == {}
    again = p.complete(PROMPT, SamplingParams(max_tokens=24, seed=6, stop=("\n\n",)))[0]
    assert again.text == out[1].text  # per-request seed replays
    p.close()


def test_chat_endpoint(server):
    spec, base = server
    p = OpenAIProposer("small", base, endpoint="chat", system_prompt="Answer with one word.")
    c = p.complete("What is the capital of France?", SamplingParams(temperature=0.0, max_tokens=8))[0]
    assert "Paris" in c.text and c.usage.prompt_tokens > 20 and c.usage.completion_tokens >= 1
    p.close()


def test_retries_503_with_backoff_then_succeeds(server):
    _, base = server
    proxy = _Proxy(base, fail=2, status=503)
    try:
        p = OpenAIProposer("small", proxy.base, retries=3, backoff=0.05)
        t0 = time.monotonic()
        c = p.complete(PROMPT, SamplingParams(max_tokens=8, seed=1))[0]
        assert proxy.requests == 3 and c.usage.completion_tokens >= 1
        assert time.monotonic() - t0 >= 0.05 + 0.10  # two backoff sleeps: 0.05 s, then 0.1 s
        proxy.fail, proxy.requests = 10, 0
        with pytest.raises(ProposerError) as exc:
            OpenAIProposer("small", proxy.base, retries=2, backoff=0.01).complete(PROMPT, SamplingParams())
        assert proxy.requests == 3 and "HTTP 503" in str(exc.value) and "after 3 attempts" in str(exc.value)
        assert "\n" not in str(exc.value)
    finally:
        proxy.close()


def test_client_error_is_not_retried(server):
    _, base = server
    proxy = _Proxy(base, fail=5, status=400)
    try:
        with pytest.raises(ProposerError, match="HTTP 400: .*injected failure") as exc:
            OpenAIProposer("small", proxy.base, retries=3, backoff=0.01).complete(PROMPT, SamplingParams())
        assert proxy.requests == 1 and "\n" not in str(exc.value)
    finally:
        proxy.close()


def test_concurrency_limit_and_timeout(server):
    _, base = server
    proxy = _Proxy(base, stall=0.3)
    try:
        p = OpenAIProposer("small", proxy.base, max_concurrency=2)
        out = p.complete(PROMPT, SamplingParams(max_tokens=4, seed=0), n=5)
        assert len(out) == 5 and proxy.requests == 5 and proxy.max_in_flight == 2
        slow = OpenAIProposer("small", proxy.base, timeout=0.1, retries=1, backoff=0.01)
        with pytest.raises(ProposerError, match=r"timed out after 0.1 s \(after 2 attempts\)"):
            slow.complete(PROMPT, SamplingParams(max_tokens=4))
    finally:
        proxy.close()


def test_unreachable_server_fails_fast_with_one_line():
    port = _free_port()  # nothing listens there
    p = OpenAIProposer("small", f"http://127.0.0.1:{port}/v1", retries=2, backoff=0.01, timeout=2)
    t0 = time.monotonic()
    with pytest.raises(ProposerError) as exc:
        p.complete("x", SamplingParams(), n=2)
    msg = str(exc.value)
    assert time.monotonic() - t0 < 2.0
    assert "\n" not in msg and f"127.0.0.1:{port}" in msg and "unreachable" in msg and "after 3 attempts" in msg
