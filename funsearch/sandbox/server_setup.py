"""The fork server's one-time set-up before it serves (server.py): process-wide steps (subreaper, parent-death
signal, its own network namespace), the problem's imports, the Landlock ruleset and seccomp filter every child
applies, and the native helper. Each step that fails is recorded in `steps` by name; the server reports them."""
from __future__ import annotations

import ctypes
import os
import signal

from funsearch.sandbox import native
from funsearch.sandbox.spares import high_fd

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_CLONE_NEWNET = 0x40000000


def process_steps(libc, config: dict) -> dict[str, str | None]:
    """Become the subreaper of every descendant, die with the harness, and (when asked) leave the network."""
    steps: dict[str, str | None] = {}
    steps["subreaper"] = None if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 else "prctl failed"
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if config.get("unshare_net"):
        ok = libc.unshare(_CLONE_NEWNET) == 0
        steps["netns"] = None if ok else f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}"
    return steps


def import_problem(config: dict) -> dict:
    """numpy (with numpy.random, which it loads lazily: a child may not be able to read its files, and every
    instance starts by seeding it), then the problem module (once, before any fork): the children's namespace."""
    for name in ("numpy", "numpy.random"):
        try:
            __import__(name)
        except ImportError:
            pass
    if not config.get("problem_path"):
        return {}
    from funsearch.problem.loader import import_problem_module
    return vars(import_problem_module(__import__("pathlib").Path(config["problem_path"])))


def child_filters(config: dict, workdir: str, steps: dict) -> tuple[int | None, object | None]:
    """(Landlock ruleset fd, compiled seccomp program), each None when not asked for or when building it failed."""
    landlock_fd = None
    if config.get("landlock"):
        try:
            from funsearch.sandbox import landlock
            landlock_fd = high_fd(landlock.build_ruleset(workdir))
        except Exception as exc:
            steps["landlock"] = f"{type(exc).__name__}: {exc}"
    program = None
    if config.get("seccomp"):
        try:
            from funsearch.sandbox import seccomp
            program = seccomp.Program(seccomp.compile_filter())
        except Exception as exc:
            steps["seccomp"] = f"{type(exc).__name__}: {exc}"
    return landlock_fd, program


def load_native(config: dict, hardening, devnull: int, seccomp_program) -> tuple[native.Helper | None, str]:
    """(the native helper, "") or (None, why it is off)."""
    if not config.get("native"):
        return None, config.get("native_off") or "no native library given"
    try:
        return native.Helper(config["native"], hardening, devnull,
                             seccomp_program.address if seccomp_program is not None else None), ""
    except (OSError, ValueError, AttributeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
