"""How the fork server makes its children: libc fork() with the at-fork hooks, and the spare child record.

Split out of server.py; see its docstring for the protocol and the fast path.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import threading
from dataclasses import dataclass

from funsearch.sandbox import child as child_mod


class ForkHooks:
    """os.register_at_fork hooks registered after the server started (by numpy, the problem module and
    what it imports), so that a libc fork() runs them as os.fork() would. Standard-library hooks
    registered earlier (threading, random) are handled by libc_fork itself."""

    def __init__(self) -> None:
        self.before: list = []
        self.child: list = []
        self.parent: list = []
        self._real = os.register_at_fork
        os.register_at_fork = self.register

    def register(self, *, before=None, after_in_child=None, after_in_parent=None) -> None:
        self._real(**{k: v for k, v in (("before", before), ("after_in_child", after_in_child),
                                        ("after_in_parent", after_in_parent)) if v is not None})
        for hook, where in ((before, self.before), (after_in_child, self.child), (after_in_parent, self.parent)):
            if hook is not None:
                where.append(hook)

    @staticmethod
    def run(hooks) -> None:
        for hook in hooks:
            try:
                hook()
            except Exception:
                pass


def high_fd(fd: int) -> int:
    """Move an fd to 10 or above (so the child's fd layout 0..3 never clobbers it)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


def single_threaded() -> bool:
    """No other Python or native thread exists (procfs counts a task folder's threads in its link count)."""
    return threading.active_count() == 1 and os.stat("/proc/self/task").st_nlink == 3


def libc_fork(fork_call, hooks: ForkHooks) -> int:
    """fork() through `fork_call()` (libc's fork, or the native helper's fork-and-harden); the caller
    checked `single_threaded()`. Python's os.fork() runs the interpreter's after-fork work in the child
    (lock re-initialisation, threading and random hooks), which touches ~200 copy-on-write pages (~0.7 ms
    of faults here) and is only needed when other threads might have held interpreter locks. Python's
    hook re-seeds `random` in the child from the OS; no child needs that, because every instance starts from
    the fixed state of funsearch/sandbox/randomness.py."""
    hooks.run(reversed(hooks.before))
    pid = fork_call()
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"fork: {os.strerror(err)}")
    hooks.run(hooks.child if pid == 0 else hooks.parent)
    return pid


def kill_spare(spare) -> None:
    """SIGKILL a spare child (a `Spare`, or the native engine's record of one), reap it, close its pipes."""
    try:
        os.kill(spare.pid, signal.SIGKILL)
    except OSError:
        pass
    os.waitpid(spare.pid, 0)
    for fd in (spare.pidfd, spare.out_r, spare.res_r, spare.cmd_w):
        os.close(fd)


def spare_trace(reply: dict) -> list:
    """The child's own step timings (trace mode only), cut out of its stdout."""
    text = reply.get("stdout", "")
    prefix = child_mod.TRACE_PREFIX.decode()
    at = text.find(prefix)
    if at < 0:
        return []
    line, _, rest = text[at + len(prefix):].partition("\n")
    reply["stdout"] = text[:at] + rest
    try:
        return json.loads(line)
    except ValueError:
        return []


@dataclass(frozen=True)
class Spare:
    """A forked, hardened child waiting for its candidate.

    Attributes:
      pid: its pid.
      pidfd: a pidfd to poll for its exit.
      out_r: read end of its stdout/stderr pipe.
      res_r: read end of its result pipe.
      cmd_w: write end of its command pipe (closed once the command is sent).
      keys: instance keys it inherited at fork time.
    """

    pid: int
    pidfd: int
    out_r: int
    res_r: int
    cmd_w: int
    keys: frozenset
