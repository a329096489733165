"""Leftover processes and files after a candidate: find, SIGKILL and reap them; wipe the tmp folder.

In the fork server's own pid namespace every process but the server and bwrap's init is a leftover;
without one, leftovers are the server's descendants (the server is a subreaper, so setsid and
double-fork escapees reparent to it and stay in reach).
"""
from __future__ import annotations

import os
import shutil
import signal
import time

from funsearch.sandbox.proctree import proc_table as _proc_table


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a live process, read by the server (not reported by the child) from schedstat."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as fh:
            return int(fh.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class Reaper:
    """Sweeps a fork server's sandbox.

    Attributes:
      me: the server's pid.
      pidns: True when the server is alone in its own pid namespace (pid 2 under bwrap's init).
      workdir: the children's tmp folder, wiped after every candidate.
    """

    def __init__(self, me: int, pidns: bool, workdir: str, unprivileged: bool = False) -> None:
        self.me = me
        self.pidns = pidns
        self.workdir = workdir
        self.unprivileged = unprivileged

    def nothing_since(self, pid: int) -> bool:
        """Cheap exact proof, in the server's own pid namespace, that no process or thread was created after
        `pid`: the namespace's last allocated pid (/proc/loadavg, namespace-aware) is still `pid`.

        Only valid while `pid` is neither reaped nor reusable (the server holds it unreaped), so the pid
        allocator cannot hand it out again (a full wrap-around would have to allocate `pid` itself). A
        clone that was under way when the child got its SIGKILL either allocated its pid before this
        read (the last pid moved: no proof) or fails its fatal-signal check after allocating (no process).
        Only trusted when candidates run under the unprivileged uid: choosing a pid without moving the
        counter (clone3 set_tid, writing ns_last_pid) needs capabilities they do not have (and seccomp
        denies clone3, Landlock denies the write)."""
        if not (self.pidns and self.unprivileged):
            return False
        try:
            with open("/proc/loadavg", "rb") as fh:
                return int(fh.read().split()[4]) == pid
        except (OSError, ValueError, IndexError):
            return False

    def alone(self, pid: int) -> bool:
        """True when no process but the (dying) child, the server and bwrap's init exists in the sandbox."""
        if self.nothing_since(pid):
            return True
        table = _proc_table()
        if self.pidns:
            return all(p in (1, self.me, pid) for p in table)
        return not any(p not in (self.me, pid) and self.descends(p, table) for p in table)

    def sweep(self) -> int:
        """SIGKILL and reap every process left from the candidate; returns how many were killed."""
        killed: set[int] = set()
        give_up = time.perf_counter() + 5.0
        while True:
            table = _proc_table()
            if self.pidns:
                victims = [p for p in table if p not in (1, self.me)]
            else:
                victims = [p for p in table if p != self.me and self.descends(p, table)]
            while True:  # reap whatever already died (orphans come to us: we are the subreaper)
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
            if not victims or time.perf_counter() > give_up:
                return len(killed)
            for p in victims:
                if table[p][1] != "Z":
                    try:
                        os.kill(p, signal.SIGKILL)
                        killed.add(p)
                    except OSError:
                        pass
            time.sleep(0.0002)

    def descends(self, pid: int, table: dict) -> bool:
        seen = 0
        while pid in table and seen < 4096:
            pid = table[pid][0]
            if pid == self.me:
                return True
            seen += 1
        return False

    def wipe_workdir(self) -> None:
        with os.scandir(self.workdir) as entries:
            names = [e.name for e in entries]
        for name in names:
            path = os.path.join(self.workdir, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass

