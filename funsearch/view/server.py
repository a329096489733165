"""The live view's HTTP server: the standard library's ThreadingHTTPServer on 127.0.0.1 (another interface
only when asked), GET only. `/` is the page (view/page.py), `/api/<route>?...` the answers (view/api.py).

Every response carries the page's Content-Security-Policy, nosniff and no-referrer; while bound to a loopback
address a request whose Host header names anything else is refused (a web page elsewhere cannot reach the view
through DNS rebinding).
"""
from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from funsearch.view.api import Api, NotFound
from funsearch.view.page import policy, render
from funsearch.view.target import Target


class ServeError(Exception):
    """The server cannot start (the port is in use, the address is not available). One line."""


class _Handler(BaseHTTPRequestHandler):
    server_version = "funsearch-view"
    sys_version = ""
    api: Api
    allowed_hosts: set[str] | None

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        host = (self.headers.get("Host") or "").lower()
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return self._send(403, "text/plain; charset=utf-8", b"forbidden host\n")
        url = urlsplit(self.path)
        if url.path == "/":
            return self._send(200, "text/html; charset=utf-8", render().encode())
        if url.path.startswith("/api/"):
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                body = self.api.encoded(url.path[len("/api/"):], params)
            except NotFound as exc:
                return self._send(404, "text/plain; charset=utf-8", (str(exc)[:300] + "\n").encode())
            except Exception as exc:  # noqa: BLE001 - one bad read must not stop the view
                return self._send(500, "text/plain; charset=utf-8", f"{type(exc).__name__}: {exc}"[:300].encode())
            return self._send(200, "application/json", body)
        return self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def do_HEAD(self) -> None:  # noqa: N802
        self._send(405, "text/plain; charset=utf-8", b"")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", policy(live=True))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: the terminal shows the URL only
        pass


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ViewServer:
    """The server, bound (or ServeError) on construction; `url` is where the page is."""

    def __init__(self, target: Target, host: str = "127.0.0.1", port: int = 8765, lineage_cap: int | None = None):
        handler = type("Handler", (_Handler,), {"api": Api(target, lineage_cap), "allowed_hosts": None})
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6}) \
            if ":" in host else ThreadingHTTPServer
        try:
            self.httpd = server_class((host, port), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(f"port {port} on {host} is in use (pick another with --port, or --port 0 for "
                                 "any free one)") from None
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        if _loopback(host):
            handler.allowed_hosts = {f"{h}:{self.port}" for h in ("127.0.0.1", "localhost", "[::1]", shown)}
        self.url = f"http://{shown}:{self.port}/"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.25)

    def start(self) -> threading.Thread:
        """Serve on a daemon thread (tests and callers that do other work meanwhile)."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(target: Target, host: str, port: int, echo: Callable[[str], None]) -> None:
    """Serve until Ctrl-C."""
    server = ViewServer(target, host, port)
    echo(f"view: {server.url}  ({target.kind} {target.root}; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
