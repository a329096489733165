"""The fork server: one per evaluator slot, started (inside bubblewrap when available) by `client.py`.

Set up once (server_setup.py: process-wide steps, numpy and the problem module imported, the Landlock
ruleset and seccomp filter for children, the native helper), it keeps instances per split, and for each candidate
forks one hardened child (see child.py; the forking itself is in spares.py), supervises it (wall deadline,
capped stdout, capped results; supervise.py), reaps it with its rusage, SIGKILLs every leftover process (in
its own pid namespace: every process but itself and bwrap's init; otherwise every descendant, which a
subreaper keeps in reach), wipes the child's tmp folder and answers with one frame. It never runs candidate
code itself and never scores.

Proof of solitude (the usual case): the child sends its end line and is SIGKILLed; if the pid namespace's
last allocated pid is still the child's (Reaper.nothing_since: no process or thread was created after it,
an exact proof while the child is unreaped and candidates run unprivileged), the reply goes out at once,
the next spare is forked while the dead child is reaped, and no /proc scan or sweep is needed. Otherwise
every leftover is found in /proc, killed and reaped before the reply.

Two paths do this. The native fast path (native.py, native/*.c; the default where gcc built it)
runs the usual cycle in C: forking and hardening a spare in one call, forking the next spare while the
candidate runs (when the candidate cannot touch it), supervision, the proof, the reply. It hands every other
case (new instances, unknown ops, a child that did not end cleanly or cannot be proven alone, non-ASCII
output, a dirty tmp folder) to the Python path, which handles all cases (`handle`, supervise.py) and is
used alone with FUNSEARCH_SANDBOX_NATIVE=0, with tracing, or when the problem's imports registered at-fork
hooks. FUNSEARCH_SANDBOX_TRACE=1 in the harness's environment adds per-step timings to every reply
("trace", "trace_child"; see benchmarks/sandbox_overhead.py --trace).

Protocol on fds 0/1 (frames from wire.py): requests {"op": "instances", "key"} + JSON payload,
{"op": "eval", "key"} + candidate (child.command_payload: marshalled code, or source); {"op": "quit"}.
Replies: one frame per eval.
Run as: python -m funsearch.sandbox.server CONFIG_JSON
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import sys
import time

from funsearch.sandbox import child as child_mod
from funsearch.sandbox import native
from funsearch.sandbox.limits import SandboxLimits
from funsearch.sandbox.reaper import Reaper
from funsearch.sandbox.server_setup import child_filters, import_problem, load_native, process_steps
from funsearch.sandbox.spares import (
    ForkHooks,
    Spare,
    high_fd,
    kill_spare,
    libc_fork,
    single_threaded,
    spare_trace,
)
from funsearch.sandbox.supervise import Supervision, conclude, supervise
from funsearch.sandbox.wire import decode_header, decode_strict, pack_frame, read_frame, read_frame_payload, write_all

_MAX_CACHED_SPLITS = 16
_EOF, _AGAIN = object(), object()  # what engine_round says besides a request


class Server:
    """State of one fork server (see the module docstring)."""

    def __init__(self, config: dict) -> None:
        self.config = config
        self.limits = SandboxLimits.from_dict(config["limits"])
        self.me = os.getpid()
        self.pidns = bool(config.get("pidns")) and self.me == 2
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.steps = process_steps(self.libc, config)
        self.devnull = high_fd(os.open(os.devnull, os.O_RDWR))
        self.workdir = config["workdir"]
        os.makedirs(self.workdir, mode=0o700, exist_ok=True)
        self.uid = config.get("uid")
        if self.uid is not None:
            os.chown(self.workdir, self.uid, self.uid)
        self.fork_hooks = ForkHooks()
        self.namespace = import_problem(config)
        self.landlock_fd, self.seccomp = child_filters(config, self.workdir, self.steps)
        # The C cycle forks the next spare while a candidate runs when the candidate cannot touch it: no
        # signals across Landlock domains (ABI >= 6), no ptrace (seccomp; and the spare is not dumpable after
        # its uid switch). The spare shares the candidate's uid meanwhile, so RLIMIT_NPROC gets one more.
        # Only where the last-pid proof can keep that spare (a pid namespace and unprivileged candidates).
        self.overlap = bool(self.landlock_fd is not None and config.get("signals_scoped") and self.uid is not None
                            and self.seccomp is not None and self.pidns)
        self.base_hardening = child_mod.Hardening.for_limits(
            self.limits, uid=self.uid, landlock_fd=self.landlock_fd, seccomp=self.seccomp, workdir=self.workdir,
            server_pid=self.me, extra_processes=1 if self.overlap else 0)
        self.native, self.native_error = load_native(config, self.base_hardening, self.devnull, self.seccomp)
        self.instances: dict[str, list] = {}
        self.by_head: dict[bytes, list] = {}  # the same, keyed by child.command_head(key), for the children
        self.reaper = Reaper(self.me, self.pidns, self.workdir, unprivileged=self.uid is not None)
        self.trace = bool(config.get("trace"))
        self.tr: list = []  # FUNSEARCH_SANDBOX_TRACE: [step, wall ns, server CPU ns] since the last reply
        self.spare: Spare | None = None  # the next child, forked and hardened, waiting for its candidate

    def mark(self, name: str) -> None:
        if self.trace:
            self.tr.append([name, time.perf_counter_ns(), time.process_time_ns(),
                            resource.getrusage(resource.RUSAGE_SELF).ru_minflt])

    def fork(self, out_w: int, res_w: int, cmd_r: int, probe: bool = False):
        """Fork a child. Returns (pid, harden_self): in the child, `harden_self()` applies the hardening
        (already applied by the native helper when it forked) and returns the names of the steps done."""
        hardening, devnull = self.base_hardening, self.devnull
        if not single_threaded():
            pid = os.fork()
        elif self.native is not None:
            pid = self.native.fork(out_w, res_w, cmd_r, self.fork_hooks)
            return pid, ((self.native.steps if probe else self.native.ok) if pid == 0 else None)
        else:
            pid = libc_fork(self.libc.fork, self.fork_hooks)
        return pid, lambda: list(child_mod.harden(hardening, out_w, res_w, devnull, cmd_r))

    # --- one child -------------------------------------------------------------------------
    def spawn(self, probe: bool = False) -> "Spare":
        """Fork a child that hardens itself, then waits on a command pipe for its candidate."""
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        res_r, res_w = os.pipe2(os.O_CLOEXEC)
        cmd_r, cmd_w = os.pipe2(os.O_CLOEXEC)
        self.mark("spawn.pipes")
        pid, harden_self = self.fork(out_w, res_w, cmd_r, probe)
        if pid == 0:
            if probe:
                try:
                    msg = json.dumps({"probe": sorted(harden_self())})
                except child_mod.HardeningError as exc:
                    msg = json.dumps({"probe_error": str(exc)})
                os.write(child_mod.RESULT_FD, msg.encode())
                os._exit(0)
            child_mod.child_main(harden_self, self.namespace, self.config["run_name"], self.by_head,
                                 self.limits, self.trace)
        self.mark("spawn.fork")
        for fd in (out_w, res_w, cmd_r):
            os.close(fd)
        return Spare(pid=pid, pidfd=os.pidfd_open(pid), out_r=out_r, res_r=res_r, cmd_w=cmd_w,
                     keys=frozenset(self.instances))

    def discard(self, spare: "Spare") -> None:
        kill_spare(spare)
        self.reaper.sweep()

    # --- protocol ----------------------------------------------------------------------------
    def serve(self) -> None:
        """Probe, say ready, then answer requests until quit or EOF (on the C cycle where it can run)."""
        self.announce()
        self.spare = self.spawn()
        engine = self.engine()
        while True:
            if engine is None:
                self.mark("idle")
                try:
                    header, payload = read_frame(0)
                except EOFError:
                    return
            else:
                request = self.engine_round(engine)
                if request is _EOF:
                    return
                if request is _AGAIN:
                    continue
                header, payload = request
            if not self.handle(header, payload):
                return
            if engine is not None:
                engine.set_keys({k: self.instances[k] for k in self.spare.keys if k in self.instances})

    def announce(self) -> None:
        """Let a probe child report the hardening steps it could apply, send the ready frame, then trim and
        freeze the heap (every mapped page costs each fork)."""
        probe = self.spawn(probe=True)
        sup = supervise(probe, b"", 0, self.limits, self.mark)
        probe_header, probe_payload, finish = conclude(sup, self.reaper, self.mark)
        finish()
        try:
            probe = json.loads(probe_payload or b"{}")
        except ValueError:
            probe = {"probe_error": "probe child sent no report"}
        write_all(1, pack_frame({"ready": True, "pid": self.me, "pidns": self.pidns, "steps": self.steps,
                                 "probe": probe, "probe_exit": probe_header["exit_code"],
                                 "fast_path_off": self.engine_off()}))
        gc.collect()
        try:  # hand freed heap back: every mapped page costs each fork (page-table copy) and each child's exit
            self.libc.malloc_trim(0)
        except AttributeError:  # not glibc
            pass
        gc.freeze()  # forked children then never walk (and copy) the server's objects in their GC

    def handle(self, header: dict, payload: bytes) -> bool:
        """One request on the Python path; False on quit."""
        op = header.get("op")
        if op == "quit":
            self.discard(self.spare)
            return False
        if op == "instances":
            if len(self.instances) >= _MAX_CACHED_SPLITS:
                self.instances.pop(next(iter(self.instances)))
            self.instances[header["key"]] = decode_strict(payload)
            self.by_head = {child_mod.command_head(k): v for k, v in self.instances.items()}
            return True
        if op != "eval":
            write_all(1, pack_frame({"error": f"unknown op {op!r}"}))
            return True
        key = header.get("key")
        if key not in self.instances:
            write_all(1, pack_frame({"error": f"unknown instances key {key!r}"}))
            return True
        if key not in self.spare.keys:  # forked before these instances arrived
            self.discard(self.spare)
            self.spare = self.spawn()
        self.mark("request")
        command = child_mod.command_head(key) + b"\n" + payload
        self.reply_and_finish(supervise(self.spare, command, len(self.instances[key]), self.limits, self.mark))
        return True

    def reply_and_finish(self, sup: Supervision) -> None:
        reply, results, finish = conclude(sup, self.reaper, self.mark)
        if self.trace:
            self.mark("reply")
            reply["trace"], self.tr = self.tr, []
            reply["trace_child"] = spare_trace(reply)
        write_all(1, pack_frame(reply, results))
        spares = []
        finish(lambda: spares.append(self.spawn()))  # off the critical path: the harness is scoring
        self.spare = spares[0]

    # --- the native engine -----------------------------------------------------------------
    def engine_off(self) -> str:
        """Why the C evaluation cycle cannot run here ("" when it can): it needs the native library and
        nothing that needs Python around a fork (tracing, another thread, at-fork hooks of the problem's imports)."""
        hooks = self.fork_hooks
        if self.native is None:
            return f"native library not loaded ({self.native_error})"
        if self.trace:
            return "FUNSEARCH_SANDBOX_TRACE is on (the trace is taken on the Python path)"
        if not single_threaded():
            return "the fork server has threads"
        if hooks.before or hooks.child or hooks.parent:
            return "the problem's imports registered at-fork hooks"
        return ""

    def engine(self):
        """The C evaluation cycle, or None (see `engine_off`)."""
        if self.engine_off():
            return None
        workdir_fd = high_fd(os.open(self.workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        engine = self.native.engine(self.limits, proof=self.pidns and self.uid is not None, workdir_fd=workdir_fd,
                                    overlap=self.overlap)
        engine.set_keys({k: self.instances[k] for k in self.spare.keys if k in self.instances})
        return engine

    def engine_round(self, engine):
        """Let the C cycle serve until it hands a case back: (header, payload) of a request for the Python path,
        _AGAIN when the case is settled here, _EOF when the harness closed the pipe."""
        engine.set_spare(self.spare)
        reason = engine.serve()
        if reason == native.CHILD:
            self.child_after_engine()
        self.spare = engine.spare(self.spare.keys)
        if reason == native.EOF:
            return _EOF
        if reason == native.WIPE:
            self.reaper.wipe_workdir()
            return _AGAIN
        if reason == native.ERROR:
            if engine.state.spare.pid < 0 and engine.state.err_where in (b"pipe2", b"fork", b"pidfd_open"):
                self.spare = self.spawn()  # raises when forking still fails: the harness restarts us
                return _AGAIN
            raise OSError(engine.error())
        if reason == native.SUPERVISED:
            engine.drop_early_spare()  # not proven safe to keep: a fresh one follows
            self.reply_and_finish(engine.supervision(self.limits.stdout_bytes))
            return _AGAIN
        return decode_header(engine.request_header()), read_frame_payload(0)

    def child_after_engine(self) -> None:
        """In a spare forked by the engine: (already hardened) run the child. Never returns."""
        child_mod.child_main(self.native.ok, self.namespace, self.config["run_name"], self.by_head,
                             self.limits, self.trace)

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
