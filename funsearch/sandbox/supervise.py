"""Supervising one candidate child in the fork server, and concluding it (the Python path).

`supervise()` hands a spare its command and watches it: wall deadline, capped results (size cap) and
stdout (kept up to its cap), the end line, SIGKILL once the child is done or over a limit. `conclude()`
turns that into the reply header and a `finish` step (reap, sweep leftovers, drain, wipe tmp). The native
engine (native/engine.c, fs_serve) does the same supervision in C and hands every case it does not
finish itself to `conclude()` as a filled `Supervision`.
"""
from __future__ import annotations

import os
import select
import signal
import struct
import time
from dataclasses import dataclass, field

from funsearch.sandbox import child as child_mod
from funsearch.sandbox.limits import SandboxLimits
from funsearch.sandbox.reaper import Reaper, cpu_seconds
from funsearch.sandbox.wire import write_all


def result_cap(limits: SandboxLimits, n_instances: int) -> int:
    """How many result bytes a child may send (solutions cap + room for records and the end line)."""
    return limits.output_bytes + 65536 + 256 * max(1, n_instances)


@dataclass
class Supervision:
    """A candidate child after supervision (mutable while it is watched).

    Attributes:
      pid, pidfd, out_r, res_r: the child and the read ends of its stdout and result pipes.
      start: perf_counter() when its command was sent.
      cap: result bytes allowed (`result_cap`).
      stdout_cap: stdout bytes kept.
      results, out: what it sent so far (results up to just past the cap; stdout up to its cap).
      timed_out, overflow, finished: the wall deadline passed / results went over the cap / the end line came.
      cpu: its CPU seconds when it finished (read before the SIGKILL), else 0.
      open_fds: pipes not yet at end-of-file.
    """

    pid: int
    pidfd: int
    out_r: int
    res_r: int
    start: float
    cap: int
    stdout_cap: int
    results: bytearray = field(default_factory=bytearray)
    out: bytearray = field(default_factory=bytearray)
    timed_out: bool = False
    overflow: bool = False
    finished: bool = False
    cpu: float = 0.0
    open_fds: set = field(default_factory=set)

    def take(self, fd: int, chunk: bytes) -> bool:
        """Keep a chunk of results (False once over the cap) or of stdout (kept up to its cap)."""
        if fd == self.res_r:
            self.results.extend(chunk)
            self.overflow = self.overflow or len(self.results) > self.cap
            return not self.overflow
        if len(self.out) < self.stdout_cap:
            self.out.extend(chunk[: self.stdout_cap - len(self.out)])
        return True

    def drain(self) -> None:
        """Every writer is dead: read what is left in the pipes, up to the caps."""
        for fd in list(self.open_fds):
            os.set_blocking(fd, False)
            try:
                while True:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk or not self.take(fd, chunk):
                        break
            except BlockingIOError:
                pass
        self.open_fds.clear()


def kill_child(pid: int) -> None:
    """SIGKILL the child's process group and the child."""
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass


def supervise(spare, command: bytes, n_instances: int, limits: SandboxLimits, mark) -> Supervision:
    """Hand `command` to the spare child and watch it until it ends, finishes or breaks a limit."""
    sup = Supervision(pid=spare.pid, pidfd=spare.pidfd, out_r=spare.out_r, res_r=spare.res_r,
                      start=time.perf_counter(), cap=result_cap(limits, n_instances),
                      stdout_cap=limits.stdout_bytes, open_fds={spare.res_r, spare.out_r})
    try:
        write_all(spare.cmd_w, struct.pack("!I", len(command)) + command)
    except OSError:
        pass  # the child died already: its exit status tells why
    os.close(spare.cmd_w)
    mark("cmd.sent")
    # each instance is timed separately: a record (one line) restarts the clock, within wall_seconds x instances
    last_call = sup.start + limits.deadline(n_instances)
    deadline = min(sup.start + limits.wall_seconds, last_call)
    records = 0
    poller = select.poll()
    for fd in (sup.res_r, sup.out_r, sup.pidfd):
        poller.register(fd, select.POLLIN)
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            sup.timed_out = True
            break
        events = poller.poll(max(1, int(remaining * 1000) + 1))
        exited = False
        for fd, _ in events:
            if fd == sup.pidfd:
                exited = True
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                poller.unregister(fd)
                sup.open_fds.discard(fd)
            elif sup.take(fd, chunk) and fd == sup.res_r:
                if sup.results.endswith(child_mod.END_LINE):
                    sup.finished = True
                elif records < n_instances and b"\n" in chunk:
                    records += chunk.count(b"\n")
                    deadline = min(time.perf_counter() + limits.wall_seconds, last_call)
        if exited or sup.overflow or sup.finished:
            break
    if sup.finished and sup.out_r in sup.open_fds:  # it flushed its stdout before its end line: take what is there
        os.set_blocking(sup.out_r, False)
        try:
            while len(sup.out) < sup.stdout_cap and (chunk := os.read(sup.out_r, 1 << 16)):
                sup.take(sup.out_r, chunk)
        except BlockingIOError:
            pass
        os.set_blocking(sup.out_r, True)
    mark("child.end")
    sup.cpu = cpu_seconds(sup.pid) if sup.finished else 0.0
    if sup.timed_out or sup.overflow or sup.finished:
        kill_child(sup.pid)
    return sup


def conclude(sup: Supervision, reaper: Reaper, mark):
    """The reply for a supervised child. Returns (header, results, finish): `finish(spawn_next)` must run
    before the next child (it reaps, sweeps, drains and wipes when the reply could go out early).

    Fast path: once the child has sent its end line it is SIGKILLed (its work is done); if no other
    process exists in the sandbox the reply goes out at once and the reaping happens in `finish`,
    while the harness scores. Otherwise every leftover is killed before replying."""
    pid = sup.pid
    header = {"timed_out": sup.timed_out, "overflow": sup.overflow, "finished": sup.finished, "exit_code": 0}
    mark("child.killed")
    # `proven`: the pid allocator shows that no process was created after the child (see Reaper.nothing_since),
    # so there is nothing to sweep, now or later (only the server forks from here on).
    proven = sup.finished and reaper.nothing_since(pid)
    reaped = False

    def finish(spawn_next=None) -> int:
        """Reap, sweep, drain and wipe; `spawn_next()` forks the next spare as early as is safe."""
        if proven and spawn_next is not None:
            spawn_next()  # nothing but the dead child exists: the next spare's hardening overlaps the reaping
            spawn_next = None
        if not reaped:
            os.wait4(pid, 0)
        mark("finish.wait4")
        os.close(sup.pidfd)
        killed = 0 if proven else reaper.sweep()
        mark("finish.sweep")
        sup.drain()
        os.close(sup.out_r)
        os.close(sup.res_r)
        mark("finish.drain")
        reaper.wipe_workdir()
        mark("finish.wipe")
        if spawn_next is not None:
            spawn_next()
        return killed

    if sup.finished and (proven or reaper.alone(pid)):
        mark("alone")
        header.update(cpu=sup.cpu, wall=time.perf_counter() - sup.start, stdout=sup.out.decode("utf-8", "replace"),
                      leftovers=0)
        return header, bytes(sup.results[:sup.cap]), finish
    _, status, usage = os.wait4(pid, 0)
    reaped, proven = True, False
    header.update(exit_code=0 if sup.finished else os.waitstatus_to_exitcode(status),
                  cpu=sup.cpu if sup.finished else usage.ru_utime + usage.ru_stime,
                  wall=time.perf_counter() - sup.start)
    header["leftovers"] = finish()
    header.update(overflow=sup.overflow, stdout=sup.out.decode("utf-8", "replace"))
    return header, bytes(sup.results[:sup.cap]), lambda spawn_next=None: spawn_next() if spawn_next else 0
