"""The OpenAI-compatible backend's kept client, against a small real HTTP/1.1 server on 127.0.0.1 (no model):
connections are kept alive and reused, many callers share one client with at most max_concurrency requests in
flight, and 503s are retried. (tests/test_proposer_openai.py runs it against a real llama.cpp server.)"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from funsearch.proposers.base import ProposerError, SamplingParams
from funsearch.proposers.openai_http import OpenAIProposer


class FakeServer:
    """Answers /v1/completions with the request's seed as text after `delay` s; counts connections and requests."""

    def __init__(self, delay: float = 0.05, fail_first: int = 0):
        self.delay, self.fail_first = delay, fail_first
        self.connections = self.requests = self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def setup(self):
                super().setup()
                with server.lock:
                    server.connections += 1

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests += 1
                    k = server.requests
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if k <= server.fail_first:
                        return self._send(503, {"error": "busy"})
                    time.sleep(server.delay)
                    self._send(200, {"choices": [{"text": f"seed {body['seed']}", "finish_reason": "stop"}],
                                     "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _send(self, code, doc):
                data = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def test_connections_are_kept_and_reused(server):
    p = OpenAIProposer("small", server.base, max_concurrency=4, api_key_env=None)
    try:
        for seed in range(12):
            assert p.complete("x", SamplingParams(seed=seed))[0].text == f"seed {seed}"
        assert server.requests == 12 and server.connections == 1  # one kept-alive connection, not twelve
    finally:
        p.close()


def test_many_callers_share_one_client_within_the_concurrency_limit():
    server = FakeServer(delay=0.2)
    p = OpenAIProposer("small", server.base, max_concurrency=8, api_key_env=None)
    try:
        with ThreadPoolExecutor(16) as callers:  # a threaded Ray actor holding 16 prompts
            outs = list(callers.map(lambda k: p.complete("x", SamplingParams(seed=100 * k), n=2), range(16)))
        assert [c.text for out in outs for c in out] == [f"seed {100 * k + i}" for k in range(16) for i in range(2)]
        assert 4 <= server.max_in_flight <= 8 and server.connections <= 8
        assert all(c.usage.completion_tokens == 2 and c.usage.seconds > 0 for out in outs for c in out)
    finally:
        p.close()
        server.close()
    with pytest.raises(ProposerError, match="closed"):
        p.complete("x", SamplingParams())


def test_503_is_retried_with_backoff_on_the_kept_client():
    s = FakeServer(delay=0.0, fail_first=2)
    try:
        p = OpenAIProposer("small", s.base, retries=3, backoff=0.05, api_key_env=None)
        t0 = time.monotonic()
        assert p.complete("x", SamplingParams(seed=4))[0].text == "seed 4"
        assert s.requests == 3 and time.monotonic() - t0 >= 0.05 + 0.10
        p.close()
    finally:
        s.close()
