"""What runs in a forked candidate child: harden the process, run the candidate, send raw solutions.

The child never scores. It writes one line of strict JSON per instance to the result fd:
  {"i": k, "t": seconds, "s": <solution>}                 a solution for instance k, or
  {"i": k, "t": seconds, "err": kind, "msg": "one line"}    a failure (kind: runtime_error, memory_error,
                                                            bad_output, output_too_large, sandbox_error)
and stops at the first failure. Every record is untrusted: the harness decodes and checks it.
"""
from __future__ import annotations

import ctypes
import json
import marshal
import os
import resource
import signal
import struct
import sys
import time
import traceback
from dataclasses import dataclass

from funsearch.messages import one_line
from funsearch.problem.markers import BadOutput
from funsearch.sandbox.randomness import reset_random_state
from funsearch.sandbox.wire import encode_solution

RESULT_FD = 3
COMMAND_FD = 4
END_LINE = b'{"end":true}\n'  # the last line an honest child sends
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
CANDIDATE_FILENAME = "<candidate>"
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # resolved once in the server, inherited by every child


@dataclass(frozen=True)
class Hardening:
    """The steps a child applies to itself before running untrusted code.

    Attributes:
      uid: unprivileged uid (and gid) to switch to, or None to keep the current one.
      landlock_fd: a Landlock ruleset fd to enforce, or None.
      seccomp: a compiled `seccomp.Program`, or None.
      workdir: the child's private writable folder (its cwd).
      server_pid: pid of the fork server (the child dies when it does).
      rlimits: (resource, soft, hard) triples to set.
    """

    uid: int | None
    landlock_fd: int | None
    seccomp: object | None
    workdir: str
    server_pid: int
    rlimits: tuple[tuple[int, int, int], ...]

    @classmethod
    def for_limits(cls, lim, uid: int | None, landlock_fd: int | None, seccomp, workdir: str, server_pid: int,
                   extra_processes: int = 0) -> "Hardening":
        """The steps for a `SandboxLimits`: address space, file size, open files, no core files, and with the uid
        switch the process count (plus `extra_processes` of the server's own). CPU time: none yet, since the
        waiting spare does not know how many instances it will run; `child_main` sets it before the candidate."""
        rlimits = [
            (resource.RLIMIT_AS, lim.memory_mb << 20, lim.memory_mb << 20),
            (resource.RLIMIT_CPU, resource.RLIM_INFINITY, resource.RLIM_INFINITY),
            (resource.RLIMIT_FSIZE, lim.file_bytes, lim.file_bytes),
            (resource.RLIMIT_NOFILE, lim.open_files, lim.open_files),
            (resource.RLIMIT_CORE, 0, 0),
        ]
        if uid is not None:
            nproc = lim.processes + extra_processes
            rlimits.append((resource.RLIMIT_NPROC, nproc, nproc))
        return cls(uid=uid, landlock_fd=landlock_fd, seccomp=seccomp, workdir=workdir, server_pid=server_pid,
                   rlimits=tuple(rlimits))


class HardeningError(Exception):
    """A hardening step failed; the message names the step."""


def _redirect_fds(h: Hardening, out_fd: int, result_fd: int, devnull_fd: int, command_fd: int) -> None:
    """stdin from /dev/null, stdout and stderr to the output pipe, the result and command pipes at their fixed
    numbers; every other descriptor closed (but the Landlock ruleset's, still needed)."""
    os.dup2(devnull_fd, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    if result_fd != RESULT_FD:
        os.dup2(result_fd, RESULT_FD)
    if command_fd != COMMAND_FD:
        os.dup2(command_fd, COMMAND_FD)
    keep = sorted({0, 1, 2, RESULT_FD, COMMAND_FD} | ({h.landlock_fd} if h.landlock_fd is not None else set()))
    low = RESULT_FD + 1
    for fd in keep:
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 65536)
    os.set_inheritable(RESULT_FD, False)
    os.set_inheritable(COMMAND_FD, False)


def _switch_uid(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("uid did not change")


def harden(h: Hardening, out_fd: int, result_fd: int, devnull_fd: int, command_fd: int) -> dict[str, str | None]:
    """Apply every step in order; returns {step: None} on success. Raises HardeningError naming the step."""
    done: dict[str, str | None] = {}

    def step(name, fn):
        try:
            fn()
        except Exception as exc:
            raise HardeningError(f"{name}: {type(exc).__name__}: {exc}") from None
        done[name] = None

    def prctl(option, arg):
        if _PRCTL(option, ctypes.c_ulong(arg), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))

    step("setsid", os.setsid)
    step("fds", lambda: _redirect_fds(h, out_fd, result_fd, devnull_fd, command_fd))

    def limits():
        for res, soft, hard in h.rlimits:
            resource.setrlimit(res, (soft, hard))
    step("rlimits", limits)
    step("workdir", lambda: os.chdir(h.workdir))
    if h.uid is not None:
        step("uid", lambda: _switch_uid(h.uid))

    def pdeathsig():  # after the uid switch: changing credentials clears it
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != h.server_pid:
            os._exit(111)
    step("pdeathsig", pdeathsig)
    step("no_new_privs", lambda: prctl(_PR_SET_NO_NEW_PRIVS, 1))
    if h.landlock_fd is not None:
        from funsearch.sandbox import landlock

        def lock():
            landlock.restrict_self(h.landlock_fd)
            os.close(h.landlock_fd)
        step("landlock", lock)
    if h.seccomp is not None:
        step("seccomp", h.seccomp.load)
    return done


def _describe(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except BaseException:  # a hostile __str__
        text = type(exc).__name__
    try:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == CANDIDATE_FILENAME]
        if lines:
            text += f" (candidate line {lines[-1]})"
    except BaseException:
        pass
    return one_line(text)


def _send(line: str) -> None:
    data = (line + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(RESULT_FD, view):]


MARSHALLED = b"\x00"  # first byte of a command payload that holds marshalled code (source never starts with NUL)


def compile_candidate(source: str):
    """The candidate's code object (this module's compiler flags; the harness and the child both use this)."""
    return compile(source, CANDIDATE_FILENAME, "exec")


def command_payload(source: str) -> bytes:
    """What the harness sends for a candidate: its code compiled here and marshalled (compiling executes
    nothing, and the trusted harness does it without the copy-on-write page faults it costs in a forked
    child), or the source itself when it does not compile, so that the child reports the error as always.
    Marshal data only ever flows from the harness to the child, never back."""
    try:
        return MARSHALLED + marshal.dumps(compile_candidate(source))
    except Exception:  # SyntaxError, ValueError, RecursionError, MemoryError, OverflowError...
        return source.encode("utf-8", "surrogatepass")


def _load_code(payload: bytes):
    if payload[:1] == MARSHALLED:
        return marshal.loads(payload[1:])
    return compile_candidate(payload.decode("utf-8", "surrogatepass"))


def run_candidate(namespace: dict, payload: bytes, run_name: str, instances: list, output_bytes: int) -> None:
    """Exec the candidate (`command_payload`) in the problem module's namespace, run the driver on each
    instance, send records."""
    import json

    sent = 0
    index = 0
    start = time.perf_counter()
    try:
        exec(_load_code(payload), namespace)
        driver = namespace[run_name]
        for index, instance in enumerate(instances):
            reset_random_state()
            start = time.perf_counter()
            solution = driver(instance)
            seconds = time.perf_counter() - start
            try:
                text = encode_solution(solution)
            except (TypeError, ValueError, RecursionError, OverflowError) as exc:
                _send(json.dumps({"i": index, "t": seconds, "err": "bad_output", "msg": _describe(exc)}))
                return
            sent += len(text)
            if sent > output_bytes:
                _send(json.dumps({"i": index, "t": seconds, "err": "output_too_large",
                                  "msg": f"solutions exceed the cap of {output_bytes} bytes"}))
                return
            _send(f'{{"i":{index},"t":{seconds!r},"s":{text}}}')
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are the candidate's failures too
        # BadOutput: the driver refused what the evolved function returned (funsearch.finite_numbers)
        kind = "memory_error" if isinstance(exc, MemoryError) else "bad_output" if isinstance(exc, BadOutput) \
            else "runtime_error"
        _send(json.dumps({"i": index, "t": time.perf_counter() - start, "err": kind, "msg": _describe(exc)}))


def _read_command() -> bytes:
    def exact(n: int) -> bytes:
        parts = []
        while n:
            chunk = os.read(COMMAND_FD, n)
            if not chunk:
                raise EOFError("command pipe closed")
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)
    (size,) = struct.unpack("!I", exact(4))
    data = exact(size)
    os.close(COMMAND_FD)
    return data


TRACE_PREFIX = b"\x00fstrace "


def command_head(key: str) -> bytes:
    """The first line of a child's command: which instances to run (the child looks it up as bytes, since
    decoding JSON in a forked child costs ~50 copy-on-write page faults)."""
    return json.dumps({"key": key}).encode()


def child_main(harden_self, namespace: dict, run_name: str, instances_by_head: dict, limits,
               trace: bool = False) -> None:
    """Entry point after fork: harden (`harden_self()` applies the remaining steps or raises HardeningError;
    with the native helper they are already applied), wait for the command (instances key + source), limit its
    CPU time (`limits`: SandboxLimits, per instance), run. Never returns. With `trace`, the child writes its step
    timings on stdout (FUNSEARCH_SANDBOX_TRACE)."""
    import json
    marks = []

    def mark(name):
        if trace:
            marks.append([name, time.perf_counter_ns(), time.process_time_ns(),
                          resource.getrusage(resource.RUSAGE_SELF).ru_minflt])
    mark("c.start")
    code = 0
    try:
        try:
            harden_self()
        except HardeningError as exc:
            _send(json.dumps({"i": 0, "t": 0.0, "err": "sandbox_error", "msg": one_line(str(exc))}))
            os.write(RESULT_FD, END_LINE)
            os._exit(0)
        mark("c.hardened")
        head, _, source = _read_command().partition(b"\n")
        mark("c.command")
        instances = instances_by_head[head]
        cpu = limits.cpu_limit(len(instances)) + int(time.process_time()) + 1  # only lowers: the hard limit holds
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        run_candidate(namespace, source, run_name, instances, limits.output_bytes)
        mark("c.ran")
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        if trace:
            mark("c.flushed")
            os.write(1, TRACE_PREFIX + json.dumps(marks).encode() + b"\n")
        os.write(RESULT_FD, END_LINE)
    except BaseException:
        code = 112
    os._exit(code)
