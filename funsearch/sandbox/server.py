"""The fork server: one per evaluator slot, started (inside bubblewrap when available) by `client.py`.

It imports numpy and the problem module once, keeps instances per split, and for each candidate
forks one hardened child (see child.py; the forking itself is in spares.py), supervises it (wall deadline, capped stdout, capped results),
reaps it with its rusage, SIGKILLs every leftover process (in its own pid namespace: every process but
itself and bwrap's init; otherwise every descendant, which a subreaper keeps in reach), wipes the
child's tmp folder and answers with one frame. It never runs candidate code itself and never scores.

Fast path (the usual case): the child sends its end line and is SIGKILLed; if the pid namespace's last
allocated pid is still the child's (Reaper.nothing_since: no process or thread was created after it, an
exact proof while the child is unreaped and candidates run unprivileged), the reply goes out at once, the
next spare is forked while the dead child is reaped, and no /proc scan or sweep is needed. Otherwise every
leftover is found in /proc, killed and reaped before the reply. Spares are forked with libc fork() while
the server is single-threaded (see Server.fork). FUNSEARCH_SANDBOX_TRACE=1 in the harness's environment
adds per-step timings to every reply ("trace", "trace_child"; see benchmarks/sandbox_overhead.py --trace).

Protocol on fds 0/1 (frames from wire.py): requests {"op": "instances", "key"} + JSON payload,
{"op": "eval", "key"} + candidate source; {"op": "quit"}. Replies: one frame per eval.
Run as: python -m funsearch.sandbox.server CONFIG_JSON
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import select
import signal
import struct
import sys
import time

from funsearch.sandbox import child as child_mod
from funsearch.sandbox.limits import SandboxLimits
from funsearch.sandbox.reaper import Reaper, cpu_seconds
from funsearch.sandbox.spares import ForkHooks, Spare, high_fd, libc_fork, spare_trace
from funsearch.sandbox.wire import decode_strict, pack_frame, read_frame, write_all

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_CLONE_NEWNET = 0x40000000
_MAX_CACHED_SPLITS = 16


class Server:
    """State of one fork server (see the module docstring)."""

    def __init__(self, config: dict) -> None:
        self.config = config
        self.limits = SandboxLimits.from_dict(config["limits"])
        self.me = os.getpid()
        self.pidns = bool(config.get("pidns")) and self.me == 2
        self.steps: dict[str, str | None] = {}
        libc = ctypes.CDLL(None, use_errno=True)
        self.libc = libc
        self.steps["subreaper"] = None if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 else "prctl failed"
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if config.get("unshare_net"):
            ok = libc.unshare(_CLONE_NEWNET) == 0
            self.steps["netns"] = None if ok else f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}"
        self.devnull = high_fd(os.open(os.devnull, os.O_RDWR))
        self.workdir = config["workdir"]
        os.makedirs(self.workdir, mode=0o700, exist_ok=True)
        self.uid = config.get("uid")
        if self.uid is not None:
            os.chown(self.workdir, self.uid, self.uid)
        self.fork_hooks = ForkHooks()
        self.namespace = self._import_problem(config)
        self.landlock_fd = None
        if config.get("landlock"):
            try:
                from funsearch.sandbox import landlock
                self.landlock_fd = high_fd(landlock.build_ruleset(self.workdir))
            except Exception as exc:
                self.steps["landlock"] = f"{type(exc).__name__}: {exc}"
        self.seccomp = None
        if config.get("seccomp"):
            try:
                from funsearch.sandbox import seccomp
                self.seccomp = seccomp.Program(seccomp.compile_filter())
            except Exception as exc:
                self.steps["seccomp"] = f"{type(exc).__name__}: {exc}"
        self.instances: dict[str, list] = {}
        self.reaper = Reaper(self.me, self.pidns, self.workdir, unprivileged=self.uid is not None)
        self.trace = bool(config.get("trace"))
        self.tr: list = []  # FUNSEARCH_SANDBOX_TRACE: [step, wall ns, server CPU ns] since the last reply

    def mark(self, name: str) -> None:
        if self.trace:
            self.tr.append([name, time.perf_counter_ns(), time.process_time_ns(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt])

    def _import_problem(self, config: dict) -> dict:
        for name in ("numpy",):
            try:
                __import__(name)
            except ImportError:
                pass
        if not config.get("problem_path"):
            return {}
        from funsearch.problem import import_problem_module
        return vars(import_problem_module(__import__("pathlib").Path(config["problem_path"])))

    def fork(self) -> int:
        return libc_fork(self.libc, self.fork_hooks)

    def hardening(self) -> child_mod.Hardening:
        lim = self.limits
        cpu = max(1, int(-(-lim.cpu_seconds // 1)))
        rlimits = [
            (resource.RLIMIT_AS, lim.memory_mb << 20, lim.memory_mb << 20),
            (resource.RLIMIT_CPU, cpu, cpu + 1),
            (resource.RLIMIT_FSIZE, lim.file_bytes, lim.file_bytes),
            (resource.RLIMIT_NOFILE, lim.open_files, lim.open_files),
            (resource.RLIMIT_CORE, 0, 0),
        ]
        if self.uid is not None:
            rlimits.append((resource.RLIMIT_NPROC, lim.processes, lim.processes))
        return child_mod.Hardening(uid=self.uid, landlock_fd=self.landlock_fd, seccomp=self.seccomp,
                                   workdir=self.workdir, server_pid=self.me, rlimits=tuple(rlimits))

    # --- one child -------------------------------------------------------------------------
    def spawn(self, probe: bool = False) -> "Spare":
        """Fork a child that hardens itself, then waits on a command pipe for its candidate."""
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        res_r, res_w = os.pipe2(os.O_CLOEXEC)
        cmd_r, cmd_w = os.pipe2(os.O_CLOEXEC)
        hardening = self.hardening()
        self.mark("spawn.pipes")
        pid = self.fork()
        if pid == 0:
            os.close(out_r)
            os.close(res_r)
            os.close(cmd_w)
            if probe:
                try:
                    done = child_mod.harden(hardening, out_w, res_w, self.devnull, cmd_r)
                    msg = json.dumps({"probe": sorted(done)})
                except child_mod.HardeningError as exc:
                    msg = json.dumps({"probe_error": str(exc)})
                os.write(child_mod.RESULT_FD, msg.encode())
                os._exit(0)
            child_mod.child_main(hardening, out_w, res_w, self.devnull, cmd_r, self.namespace,
                                 self.config["run_name"], self.instances, self.limits.output_bytes, self.trace)
        self.mark("spawn.fork")
        for fd in (out_w, res_w, cmd_r):
            os.close(fd)
        return Spare(pid=pid, pidfd=os.pidfd_open(pid), out_r=out_r, res_r=res_r, cmd_w=cmd_w,
                     keys=frozenset(self.instances))

    def discard(self, spare: "Spare") -> None:
        try:
            os.kill(spare.pid, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(spare.pid, 0)
        for fd in (spare.pidfd, spare.out_r, spare.res_r, spare.cmd_w):
            os.close(fd)
        self.reaper.sweep()

    def run_child(self, spare: "Spare", command: bytes, n_instances: int):
        """Hand a command to a spare child and supervise it. Returns (header, results, finish): `finish()`
        must run before the next child (it reaps, sweeps and wipes when the fast path replied early).

        Fast path: once the child has sent its end line, it is SIGKILLed (its work is done); if no other
        process exists in the sandbox the reply goes out at once and the reaping happens in `finish`,
        while the harness scores. Otherwise every leftover is killed before replying."""
        lim = self.limits
        pid, out_r, res_r = spare.pid, spare.out_r, spare.res_r
        start = time.perf_counter()
        try:
            write_all(spare.cmd_w, struct.pack("!I", len(command)) + command)
        except OSError:
            pass  # the child died already: its exit status tells why
        os.close(spare.cmd_w)
        self.mark("cmd.sent")
        deadline = start + lim.wall_seconds
        results, out = bytearray(), bytearray()
        result_cap = lim.output_bytes + 65536 + 256 * max(1, n_instances)
        timed_out = overflow = finished = False
        open_fds = {res_r, out_r}

        def take(fd: int, chunk: bytes) -> bool:
            """Keep a chunk of results (False once over the cap) or of stdout (kept up to its cap)."""
            nonlocal overflow
            if fd == res_r:
                results.extend(chunk)
                overflow = overflow or len(results) > result_cap
                return not overflow
            if len(out) < lim.stdout_bytes:
                out.extend(chunk[: lim.stdout_bytes - len(out)])
            return True
        poller = select.poll()
        for fd in (res_r, out_r, spare.pidfd):
            poller.register(fd, select.POLLIN)
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                timed_out = True
                break
            events = poller.poll(max(1, int(remaining * 1000) + 1))
            exited = False
            for fd, _ in events:
                if fd == spare.pidfd:
                    exited = True
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                elif take(fd, chunk) and fd == res_r and results.endswith(child_mod.END_LINE):
                    finished = True
            if exited or overflow or finished:
                break
        if self.trace and finished and out_r in open_fds:  # the child wrote its trace line before its end line
            os.set_blocking(out_r, False)
            try:
                out += os.read(out_r, 1 << 16)
            except BlockingIOError:
                pass
            os.set_blocking(out_r, True)
        self.mark("child.end")
        cpu = cpu_seconds(pid) if finished else 0.0
        if timed_out or overflow or finished:
            for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    target()
                except OSError:
                    pass

        def drain() -> None:
            for fd in list(open_fds):  # every writer is dead now: read what is left, up to the caps
                os.set_blocking(fd, False)
                try:
                    while True:
                        chunk = os.read(fd, 1 << 20)
                        if not chunk or not take(fd, chunk):
                            break
                except BlockingIOError:
                    pass
            open_fds.clear()

        def finish(spawn_next=None) -> int:
            """Reap, sweep, drain and wipe; `spawn_next()` forks the next spare as early as is safe."""
            if proven and spawn_next is not None:
                spawn_next()  # nothing but the dead child exists: the next spare's hardening overlaps the reaping
                spawn_next = None
            os.wait4(pid, 0) if not reaped else None
            self.mark("finish.wait4")
            os.close(spare.pidfd)
            killed = 0 if proven else self.reaper.sweep()
            self.mark("finish.sweep")
            drain()
            os.close(out_r)
            os.close(res_r)
            self.mark("finish.drain")
            self.reaper.wipe_workdir()
            self.mark("finish.wipe")
            if spawn_next is not None:
                spawn_next()
            return killed

        header = {"timed_out": timed_out, "overflow": overflow, "finished": finished, "exit_code": 0}
        self.mark("child.killed")
        # `proven`: the pid allocator shows that no process was created after the child (see Reaper.nothing_since),
        # so there is nothing to sweep, now or later (only the server forks from here on).
        proven = finished and self.reaper.nothing_since(pid)
        if finished and (proven or self.reaper.alone(pid)):
            self.mark("alone")
            reaped = False
            header.update(cpu=cpu, wall=time.perf_counter() - start, stdout=out.decode("utf-8", "replace"),
                          leftovers=0)
            return header, bytes(results[:result_cap]), finish
        _, status, usage = os.wait4(pid, 0)
        reaped, proven = True, False
        header.update(exit_code=0 if finished else os.waitstatus_to_exitcode(status),
                      cpu=cpu if finished else usage.ru_utime + usage.ru_stime, wall=time.perf_counter() - start)
        header["leftovers"] = finish()
        header.update(overflow=overflow, stdout=out.decode("utf-8", "replace"))
        return header, bytes(results[:result_cap]), lambda spawn_next=None: spawn_next() if spawn_next else 0

    # --- protocol ----------------------------------------------------------------------------
    def serve(self) -> None:
        probe_header, probe_payload, finish = self.run_child(self.spawn(probe=True), b"", 0)
        finish()
        try:
            probe = json.loads(probe_payload or b"{}")
        except ValueError:
            probe = {"probe_error": "probe child sent no report"}
        write_all(1, pack_frame({"ready": True, "pid": self.me, "pidns": self.pidns, "steps": self.steps,
                                 "probe": probe, "probe_exit": probe_header["exit_code"]}))
        gc.collect()
        try:  # hand freed heap back: every mapped page costs each fork (page-table copy) and each child's exit
            self.libc.malloc_trim(0)
        except AttributeError:  # not glibc
            pass
        gc.freeze()  # forked children then never walk (and copy) the server's objects in their GC
        spare = self.spawn()
        while True:
            self.mark("idle")
            try:
                header, payload = read_frame(0)
            except EOFError:
                return
            op = header.get("op")
            if op == "quit":
                self.discard(spare)
                return
            if op == "instances":
                if len(self.instances) >= _MAX_CACHED_SPLITS:
                    self.instances.pop(next(iter(self.instances)))
                self.instances[header["key"]] = decode_strict(payload)
                continue
            if op == "eval":
                key = header["key"]
                if key not in self.instances:
                    write_all(1, pack_frame({"error": f"unknown instances key {key!r}"}))
                    continue
                if key not in spare.keys:  # forked before these instances arrived
                    self.discard(spare)
                    spare = self.spawn()
                self.mark("request")
                command = json.dumps({"key": key}).encode() + b"\n" + payload
                reply, results, finish = self.run_child(spare, command, len(self.instances[key]))
                if self.trace:
                    self.mark("reply")
                    reply["trace"], self.tr = self.tr, []
                    reply["trace_child"] = spare_trace(reply)
                write_all(1, pack_frame(reply, results))
                spares = []
                finish(lambda: spares.append(self.spawn()))  # off the critical path: the harness is scoring
                spare = spares[0]
                continue
            write_all(1, pack_frame({"error": f"unknown op {op!r}"}))


def main() -> None:
    config = json.loads(sys.argv[1])
    try:
        server = Server(config)
    except Exception as exc:
        write_all(1, pack_frame({"ready": False, "error": f"{type(exc).__name__}: {exc}"}))
        sys.exit(3)
    server.serve()


if __name__ == "__main__":
    main()
