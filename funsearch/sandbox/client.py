"""Harness side of a fork server: start it (in bubblewrap when available), talk to it, restart it.

`ForkServer.run(key, instances, source)` returns the server's reply (`ServerReply`) for one
candidate, or raises `ServerDied` when the server vanished during the evaluation (the next call
starts a fresh one). Instances are sent once per key and per server incarnation.
"""
from __future__ import annotations

import functools
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import funsearch
from funsearch.sandbox.child import command_payload
from funsearch.sandbox.limits import SandboxLimits
from funsearch.sandbox.protections import (
    MASKED_DIRS,
    Capabilities,
    Protection,
    bwrap_base_args,
    detect,
    plan_protections,
)
from funsearch.sandbox.wire import pack_frame, read_frame, write_all

UID_BASE = 61000
_STARTUP_SECONDS = 60.0
_REPLY_SLACK = 10.0
_OPTIONAL_STEPS = ("uid", "landlock", "seccomp")


def native_helper() -> tuple[str | None, str]:
    """(path of the native fast path's library, "") or (None, why not); built on first use (see native.py).
    FUNSEARCH_SANDBOX_NATIVE=0 selects the Python path."""
    if os.environ.get("FUNSEARCH_SANDBOX_NATIVE", "1") == "0":
        return None, "disabled by FUNSEARCH_SANDBOX_NATIVE=0"
    return _built_native_helper()


@functools.lru_cache(maxsize=1)
def _built_native_helper() -> tuple[str | None, str]:
    from funsearch.sandbox import native
    try:
        path, why = native.build()
    except OSError as exc:
        return None, f"cannot build: {exc}"
    return (str(path), "") if path is not None else (None, why)


class SandboxError(Exception):
    """The harness cannot run the sandbox (one-line message)."""


class ServerDied(Exception):
    """The fork server died or hung while evaluating a candidate."""


@dataclass(frozen=True)
class ServerReply:
    """What the fork server reports for one candidate.

    Attributes:
      exit_code: the child's exit code (negative: killed by that signal).
      timed_out: the wall deadline was hit and the process group killed.
      overflow: the child sent more result bytes than the cap.
      cpu_seconds: user + system CPU of the child.
      wall_seconds: fork to reap, measured by the server.
      stdout: the first bytes of the child's stdout/stderr (decoded, untrusted).
      leftovers: processes the server had to kill after the child ended.
      results: the raw result bytes (untrusted; decode strictly).
    """

    exit_code: int
    timed_out: bool
    overflow: bool
    cpu_seconds: float
    wall_seconds: float
    stdout: str
    leftovers: int
    results: bytes


def scrubbed_env() -> dict[str, str]:
    """The whole environment the sandbox sees: no secrets, single-threaded numeric libraries."""
    package_root = str(Path(funsearch.__file__).resolve().parent.parent)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "PYTHONPATH": package_root}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    return env


def _needed_paths(problem_path: Path | None) -> list[str]:
    """Paths the server must read even when they sit under a masked folder or /tmp."""
    wanted = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent),
              str(Path(funsearch.__file__).resolve().parent.parent)}
    wanted.update(p for p in sys.path if p and os.path.isdir(p))
    if problem_path is not None:
        wanted.add(str(problem_path.resolve().parent))
    library = native_helper()[0]
    if library is not None:
        wanted.add(str(Path(library).parent))
    hidden = [*MASKED_DIRS, "/tmp"]
    under = sorted({os.path.realpath(p) for p in wanted
                    if any(os.path.realpath(p) == m or os.path.realpath(p).startswith(m + "/") for m in hidden)})
    keep: list[str] = []
    for path in under:
        if path in hidden:
            continue  # never unmask a whole folder
        if not any(path.startswith(k + "/") for k in keep):
            keep.append(path)
    return keep


class ForkServer:
    """One fork server process for one evaluator slot."""

    def __init__(self, problem, limits: SandboxLimits, slot: int = 0, caps: Capabilities | None = None) -> None:
        self.problem = problem
        self.limits = limits
        self.slot = slot
        self.caps = caps or detect()
        self.failed_steps: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.sent_keys: set[str] = set()
        self.host_workdir: str | None = None
        self.ready: dict = {}
        self.restarts = -1
        self.last_header: dict = {}  # the server's last reply header (with step timings under FUNSEARCH_SANDBOX_TRACE)

    # --- lifecycle -----------------------------------------------------------------------
    def _command(self) -> tuple[list[str], dict]:
        use_bwrap = self.caps.bwrap is not None
        if use_bwrap:
            workdir = f"/tmp/funsearch-slot{self.slot}"
        else:
            self.host_workdir = tempfile.mkdtemp(prefix=f"funsearch-slot{self.slot}-")
            workdir = self.host_workdir
        native_path, native_off = native_helper()
        config = {
            "problem_path": str(self.problem.path) if self.problem is not None else None,
            "run_name": self.problem.run_name if self.problem is not None else None,
            "limits": self.limits.to_dict(),
            "uid": UID_BASE + self.slot if self.caps.root and "uid" not in self.failed_steps else None,
            "landlock": self.caps.landlock_abi >= 1 and "landlock" not in self.failed_steps,
            "signals_scoped": self.caps.landlock_abi >= 6,
            "seccomp": not self.caps.seccomp_error and "seccomp" not in self.failed_steps,
            "pidns": use_bwrap, "unshare_net": not use_bwrap, "workdir": workdir,
            "trace": os.environ.get("FUNSEARCH_SANDBOX_TRACE", "") not in ("", "0"),
            "native": native_path, "native_off": native_off,
        }
        argv = [sys.executable, "-m", "funsearch.sandbox.server", json.dumps(config)]
        if not use_bwrap:
            return argv, config
        wrap = [self.caps.bwrap, *bwrap_base_args(), "--ro-bind", "/dev/null", "/proc/1/environ",
                "--size", str(max(4 * self.limits.file_bytes, 64 << 20)), "--tmpfs", "/tmp"]
        for masked in MASKED_DIRS:
            if os.path.isdir(masked):
                wrap += ["--tmpfs", masked]
        made: set[str] = set()
        for path in _needed_paths(self.problem.path if self.problem is not None else None):
            parents = [str(p) for p in reversed(Path(path).parents) if str(p) not in ("/", *MASKED_DIRS, "/tmp")]
            for parent in parents:  # bwrap would create them 0700, unreadable for the candidate's uid
                if parent not in made:
                    made.add(parent)
                    wrap += ["--perms", "0755", "--dir", parent]
            wrap += ["--ro-bind", path, path]
        wrap += ["--chdir", "/tmp", "--clearenv"]
        for key, value in scrubbed_env().items():
            wrap += ["--setenv", key, value]
        return wrap + ["--"] + argv, config

    def start(self) -> None:
        """Start (or restart) the server; retries without an optional step its probe could not apply."""
        self.stop()
        for _ in range(len(_OPTIONAL_STEPS) + 1):
            argv, _config = self._command()
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, env=scrubbed_env(), close_fds=True,
                                         start_new_session=True, cwd="/")
            self.sent_keys = set()
            header = self._read_reply(_STARTUP_SECONDS)[0]
            if not header.get("ready"):
                self.stop()
                raise SandboxError(f"fork server failed to start: {header.get('error', 'no ready message')}")
            probe = header.get("probe", {})
            error = probe.get("probe_error")
            if error is None:
                self.ready = header
                self.restarts += 1
                return
            step = error.split(":", 1)[0]
            self.stop()
            if step not in _OPTIONAL_STEPS or step in self.failed_steps:
                raise SandboxError(f"fork server cannot harden its children: {error}")
            self.failed_steps[step] = f"probe failed: {error}"
        raise SandboxError("fork server cannot harden its children")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                if proc.poll() is None:
                    try:
                        write_all(proc.stdin.fileno(), pack_frame({"op": "quit"}))
                    except OSError:
                        pass
                    try:
                        proc.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
            finally:
                for stream in (proc.stdin, proc.stdout):
                    try:
                        stream.close()
                    except OSError:
                        pass
        if self.host_workdir:
            shutil.rmtree(self.host_workdir, ignore_errors=True)
            self.host_workdir = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def fast_path(self) -> str:
        """One line: whether candidates are run by the native C cycle or by the Python path, and why."""
        if not self.ready:
            return "fast path: unknown (server not started)"
        off = self.ready.get("fast_path_off", "not reported")
        return "fast path: on (native C evaluation cycle)" if not off else f"fast path: off, Python path ({off})"

    def protections(self) -> tuple[Protection, ...]:
        steps = {k: v for k, v in (self.ready.get("steps") or {}).items() if v}
        return plan_protections(self.caps, {**self.failed_steps, **steps},
                                netns=self.caps.bwrap is not None or "netns" not in steps)

    # --- protocol --------------------------------------------------------------------------
    def _read_reply(self, timeout: float) -> tuple[dict, bytes]:
        assert self.proc is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            self.proc.kill()
            raise ServerDied(f"fork server did not answer within {timeout:.0f}s")
        try:
            return read_frame(fd)
        except (EOFError, OSError) as exc:
            raise ServerDied(f"fork server died ({exc})") from None

    def run(self, key: str, instances: list, source: str) -> ServerReply:
        """Evaluate one candidate. Raises ServerDied (the server is restarted on the next call) or SandboxError."""
        if not self.alive:
            self.start()
        assert self.proc is not None
        fd = self.proc.stdin.fileno()
        try:
            for attempt in (1, 2):
                if key not in self.sent_keys:
                    write_all(fd, pack_frame({"op": "instances", "key": key}, json.dumps(instances).encode()))
                    self.sent_keys.add(key)
                sent = time.perf_counter_ns()
                write_all(fd, pack_frame({"op": "eval", "key": key}, command_payload(source)))
                header, payload = self._read_reply(self.limits.deadline(len(instances)) + _REPLY_SLACK)
                header["harness"] = [sent, time.perf_counter_ns()]
                self.last_header = header
                if attempt == 1 and str(header.get("error", "")).startswith("unknown instances key"):
                    self.sent_keys.discard(key)  # the server keeps a bounded number of instance sets: send again
                    continue
                break
        except (BrokenPipeError, ServerDied, OSError) as exc:
            self.stop()
            raise ServerDied(str(exc)) from None
        if "error" in header:
            raise SandboxError(f"fork server: {header['error']}")
        return ServerReply(exit_code=int(header["exit_code"]), timed_out=bool(header["timed_out"]),
                           overflow=bool(header["overflow"]), cpu_seconds=float(header["cpu"]),
                           wall_seconds=float(header["wall"]), stdout=str(header.get("stdout", "")),
                           leftovers=int(header.get("leftovers", 0)), results=payload)
