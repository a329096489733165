"""The fork server's native fast path: fork-and-harden in one C call, and the common evaluation cycle in C.

`native/` holds the C: `harden.c`, `engine.c`, `io.c`, `forkhelper.h`. `fs_fork` applies the same steps as
`child.harden`, in the same order, before the child returns to Python. `fs_serve` runs the usual cycle (request,
command, supervision, SIGKILL, last-pid proof, reply, next spare, reap) with no Python in between, and hands every
other case to the Python path (`Engine.serve` reasons). Why: in Python each step allocates objects and touches reference
counts on pages shared copy-on-write between the server and its children, and each touched page costs a
page fault (~3.5 us here); the C path touches its stack and a few buffers. `benchmarks/sandbox_overhead.py`
prints both paths (FUNSEARCH_SANDBOX_NATIVE=0 selects the Python one).

The library is built by `build()` (gcc, no Python headers) into this package's `native/` folder; set-up
runs it, and the harness runs it on first use when the folder is writable. Without gcc or a writable
package, or with FUNSEARCH_SANDBOX_NATIVE=0, the fork server uses the Python path, with the same protections.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from funsearch.sandbox.child import HardeningError, command_head
from funsearch.sandbox.spares import Spare, kill_spare, libc_fork
from funsearch.sandbox.supervise import Supervision

NATIVE_DIR = Path(__file__).resolve().parent / "native"
SOURCES = ("harden.c", "io.c", "engine.c")
HEADER = "forkhelper.h"
ABI = 4
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC")  # a warning is a build failure (Python's path then)
MAX_LIMITS = 8
STEPS = ("setsid", "fds", "rlimits", "workdir", "uid", "pdeathsig", "no_new_privs", "landlock", "seccomp")


class Limit(ctypes.Structure):
    _fields_ = [("resource", ctypes.c_int64), ("soft", ctypes.c_int64), ("hard", ctypes.c_int64)]


class Plan(ctypes.Structure):
    """struct fs_plan: what the child applies to itself (see native/forkhelper.h)."""

    _fields_ = [("devnull_fd", ctypes.c_int32), ("out_fd", ctypes.c_int32), ("result_fd", ctypes.c_int32),
                ("command_fd", ctypes.c_int32), ("landlock_fd", ctypes.c_int32), ("uid", ctypes.c_int32),
                ("server_pid", ctypes.c_int32), ("n_limits", ctypes.c_int32), ("limits", Limit * MAX_LIMITS),
                ("workdir", ctypes.c_char_p), ("seccomp", ctypes.c_void_p)]


class Outcome(ctypes.Structure):
    """struct fs_outcome: in the child, the failed step (0: none) and its errno."""

    _fields_ = [("step", ctypes.c_int32), ("err", ctypes.c_int32)]


def library_paths() -> list[Path]:
    """Where the built library may live, in order: beside its source, else in the user's cache. Named
    after the source's hash, so an edited source is rebuilt."""
    digest = hashlib.sha256(b"".join((NATIVE_DIR / f).read_bytes() for f in (HEADER, *SOURCES))).hexdigest()
    name = f"_forkhelper-{digest[:16]}.so"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "funsearch" / "native"
    return [NATIVE_DIR / name, cache / name]


def build() -> tuple[Path | None, str]:
    """Build the library when it is missing. Returns (path, "") or (None, why not)."""
    targets = library_paths()
    for target in targets:
        if target.exists():
            return target, ""
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if cc is None:
        return None, "no C compiler (gcc) on PATH"
    why = ""
    for target in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = f"cannot create {target.parent}: {exc.strerror}"
            continue
        if not os.access(target.parent, os.W_OK):
            why = f"{target.parent} is not writable"
            continue
        return _compile(cc, target)
    return None, why


def _compile(cc: str, target: Path) -> tuple[Path | None, str]:
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    try:
        proc = subprocess.run([cc, *CFLAGS, "-o", str(tmp), *(str(NATIVE_DIR / f) for f in SOURCES)],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"compiler failed to run: {exc}"
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        return None, "compile failed: " + " ".join(proc.stderr.split())[:200]
    os.replace(tmp, target)
    for stale in target.parent.glob("_forkhelper-*.so"):  # builds of earlier sources
        if stale != target:
            stale.unlink(missing_ok=True)
    return target, ""


def load(path: str) -> ctypes.CDLL:
    """Load a built library and check its ABI. Raises OSError."""
    lib = ctypes.CDLL(path, use_errno=True)
    if lib.fs_abi() != ABI:
        raise OSError(f"{path}: ABI {lib.fs_abi()}, expected {ABI}")
    lib.fs_fork.restype = ctypes.c_long
    lib.fs_fork.argtypes = [ctypes.POINTER(Plan), ctypes.POINTER(Outcome)]
    return lib


def make_plan(hardening, devnull_fd: int, seccomp_address: int | None) -> Plan:
    """A Plan from a `child.Hardening` (the three pipe fds are filled in per fork)."""
    if len(hardening.rlimits) > MAX_LIMITS:
        raise ValueError(f"at most {MAX_LIMITS} rlimits")
    plan = Plan(devnull_fd=devnull_fd, out_fd=-1, result_fd=-1, command_fd=-1,
                landlock_fd=-1 if hardening.landlock_fd is None else hardening.landlock_fd,
                uid=-1 if hardening.uid is None else hardening.uid, server_pid=hardening.server_pid,
                n_limits=len(hardening.rlimits), workdir=hardening.workdir.encode(), seccomp=seccomp_address)
    for i, (res, soft, hard) in enumerate(hardening.rlimits):
        plan.limits[i] = Limit(res, soft, hard)
    return plan


def steps_done(plan: Plan, outcome: Outcome) -> list[str]:
    """Names of the steps the child applied (all applicable ones up to, not including, a failed step)."""
    applicable = [name for name in STEPS
                  if not (name == "uid" and plan.uid < 0 or name == "landlock" and plan.landlock_fd < 0
                          or name == "seccomp" and not plan.seccomp)]
    if outcome.step == 0:
        return applicable
    failed = STEPS[outcome.step - 1]
    return applicable[:applicable.index(failed)]


def failure(outcome: Outcome) -> str:
    """The HardeningError text for a failed step, as the Python path words it ("step: OSError: ...")."""
    return f"{STEPS[outcome.step - 1]}: OSError: [Errno {outcome.err}] {os.strerror(outcome.err)}"


class Helper:
    """The loaded library with one fork server's plan.

    Attributes:
      lib: the library; plan: what each child applies (its pipe fds set per fork); outcome: in a child,
      which step failed (0: none).
    """

    def __init__(self, path: str, hardening, devnull_fd: int, seccomp_address: int | None) -> None:
        """Raises OSError (cannot load, wrong ABI) or ValueError (too many rlimits)."""
        self.lib = load(path)
        self.plan = make_plan(hardening, devnull_fd, seccomp_address)
        self.outcome = Outcome()

    def fork(self, out_w: int, res_w: int, cmd_r: int, hooks) -> int:
        """fs_fork with the server's at-fork hooks (the caller checked `spares.single_threaded()`)."""
        self.plan.out_fd, self.plan.result_fd, self.plan.command_fd = out_w, res_w, cmd_r
        return libc_fork(lambda: self.lib.fs_fork(self.plan, self.outcome), hooks)

    def ok(self) -> None:
        """In a candidate child: HardeningError naming the step that failed, if one did."""
        if self.outcome.step:
            raise HardeningError(failure(self.outcome))

    def steps(self) -> list[str]:
        """In the probe child: the steps applied, or HardeningError naming the one that failed."""
        self.ok()
        return steps_done(self.plan, self.outcome)

    def engine(self, limits, proof: bool, workdir_fd: int, overlap: bool) -> "Engine":
        return Engine(self.lib, self.plan, self.outcome, limits, proof, workdir_fd, overlap)


CHILD, REQUEST, SUPERVISED, EOF, WIPE, ERROR = 1, 2, 3, 4, 5, -1


class Key(ctypes.Structure):
    """struct fs_key: an instances key the waiting spare knows."""

    _fields_ = [("header", ctypes.c_char_p), ("header_len", ctypes.c_int64), ("prefix", ctypes.c_char_p),
                ("prefix_len", ctypes.c_int64), ("n_instances", ctypes.c_int64)]


class SpareFds(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_int32), ("pidfd", ctypes.c_int32), ("out_r", ctypes.c_int32),
                ("res_r", ctypes.c_int32), ("cmd_w", ctypes.c_int32), ("pad", ctypes.c_int32)]


class EngineState(ctypes.Structure):
    """struct fs_engine (see native/forkhelper.h for each field)."""

    _fields_ = [("plan", ctypes.POINTER(Plan)), ("outcome", ctypes.POINTER(Outcome)), ("keys", ctypes.POINTER(Key)),
                ("n_keys", ctypes.c_int64), ("wall_ns", ctypes.c_int64), ("stdout_cap", ctypes.c_int64),
                ("output_bytes", ctypes.c_int64), ("proof", ctypes.c_int32), ("workdir_fd", ctypes.c_int32),
                ("spare", SpareFds), ("reason", ctypes.c_int32), ("err", ctypes.c_int32),
                ("err_where", ctypes.c_char_p),
                ("req", ctypes.c_void_p), ("req_len", ctypes.c_int64),
                ("sup_finished", ctypes.c_int32), ("sup_timed_out", ctypes.c_int32), ("sup_overflow", ctypes.c_int32),
                ("sup_exited", ctypes.c_int32), ("sup_key", ctypes.c_int64), ("sup_start_ns", ctypes.c_int64),
                ("sup_cpu_ns", ctypes.c_int64), ("sup_result_cap", ctypes.c_int64),
                ("results", ctypes.c_void_p), ("results_len", ctypes.c_int64),
                ("out", ctypes.c_void_p), ("out_len", ctypes.c_int64), ("served", ctypes.c_int64),
                ("overlap", ctypes.c_int32), ("pad", ctypes.c_int32), ("next", SpareFds)]


def eval_header(key: str) -> bytes:
    """The exact header bytes of an eval request, as `wire.pack_frame` writes them."""
    return json.dumps({"op": "eval", "key": key}, separators=(",", ":")).encode()


def command_prefix(key: str) -> bytes:
    """The first line of a child's command, newline included (the server's Python path writes the same)."""
    return command_head(key) + b"\n"


class Engine:
    """The C evaluation cycle for one fork server (see the module docstring)."""

    def __init__(self, lib: ctypes.CDLL, plan: Plan, outcome: Outcome, limits, proof: bool, workdir_fd: int,
                 overlap: bool) -> None:
        lib.fs_serve.restype = ctypes.c_int
        lib.fs_serve.argtypes = [ctypes.POINTER(EngineState)]
        self.lib = lib
        self.state = EngineState(plan=ctypes.pointer(plan), outcome=ctypes.pointer(outcome),
                                 wall_ns=int(limits.wall_seconds * 1e9), stdout_cap=limits.stdout_bytes,
                                 output_bytes=limits.output_bytes, proof=int(proof), workdir_fd=workdir_fd,
                                 overlap=int(overlap))
        self.state.next.pid = -1
        self._keep: list = []

    def set_keys(self, instances: dict) -> None:
        """The keys the waiting spare knows (it inherited these instances)."""
        rows = [(eval_header(k), command_prefix(k), len(v)) for k, v in instances.items()]
        keys = (Key * max(1, len(rows)))()
        for i, (head, prefix, n) in enumerate(rows):
            keys[i] = Key(head, len(head), prefix, len(prefix), n)
        self._keep = [keys, rows]  # the C side points into these
        self.state.keys = keys
        self.state.n_keys = len(rows)

    def set_spare(self, spare) -> None:
        self.state.spare = SpareFds(spare.pid, spare.pidfd, spare.out_r, spare.res_r, spare.cmd_w, 0)

    def serve(self) -> int:
        """Run the cycle until it needs Python; returns the reason (CHILD, REQUEST, SUPERVISED, EOF, WIPE, ERROR)."""
        return self.lib.fs_serve(ctypes.byref(self.state))

    def request_header(self) -> bytes:
        return ctypes.string_at(self.state.req, self.state.req_len)

    def error(self) -> str:
        where = (self.state.err_where or b"?").decode()
        return f"native fork server: {where}: {os.strerror(self.state.err)}"

    def spare(self, keys: frozenset) -> Spare:
        """The waiting spare as the Python path's record."""
        fds = self.state.spare
        return Spare(pid=fds.pid, pidfd=fds.pidfd, out_r=fds.out_r, res_r=fds.res_r, cmd_w=fds.cmd_w, keys=keys)

    def drop_early_spare(self) -> None:
        """Kill and reap the spare forked while the candidate ran (no sweep: the candidate is still to be
        concluded by the Python path)."""
        if self.state.next.pid >= 0:
            kill_spare(self.state.next)
            self.state.next.pid = -1

    def supervision(self, stdout_cap: int) -> Supervision:
        """The supervised candidate (FS_SUPERVISED) as the Python path's record, for `supervise.conclude`."""
        st = self.state
        return Supervision(pid=st.spare.pid, pidfd=st.spare.pidfd, out_r=st.spare.out_r, res_r=st.spare.res_r,
                           start=st.sup_start_ns / 1e9, cap=st.sup_result_cap, stdout_cap=stdout_cap,
                           results=bytearray(ctypes.string_at(st.results, st.results_len) if st.results_len else b""),
                           out=bytearray(ctypes.string_at(st.out, st.out_len) if st.out_len else b""),
                           timed_out=bool(st.sup_timed_out), overflow=bool(st.sup_overflow),
                           finished=bool(st.sup_finished), cpu=st.sup_cpu_ns / 1e9,
                           open_fds={st.spare.out_r, st.spare.res_r})
