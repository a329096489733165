"""Which sandbox protections this machine offers, and a one-line account of each.

`detect()` probes the machine once per process (bubblewrap actually started, root for the uid
switch, libseccomp compiles the filter, the kernel's Landlock ABI). `plan_protections()` turns that
into the list a fork server will apply; the server's start-up probe (a hardened child) may switch a
step off again, and `Evaluator.protections` reports the final list. Missing protections are
reported loudly (a `SandboxWarning` and a line on stderr), never silently skipped.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass

MASKED_DIRS = ("/root", "/home", "/run/secrets", "/var/run/secrets")


class SandboxWarning(UserWarning):
    """Some sandbox protections are off on this machine."""


@dataclass(frozen=True)
class Protection:
    """One protection and whether it is active.

    Attributes:
      name: short name ("bubblewrap", "seccomp", ...).
      on: True when active for candidate children.
      reason: one line: what it does when on, why it is off otherwise.
    """

    name: str
    on: bool
    reason: str

    def line(self) -> str:
        return f"{'on ' if self.on else 'off'}  {self.name:<16} {self.reason}"


@dataclass(frozen=True)
class Capabilities:
    """What `detect()` found.

    Attributes:
      bwrap: path of a working bubblewrap, or None.
      bwrap_error: why bubblewrap is unusable ("" when it works).
      root: running with euid 0 (needed for the uid switch).
      seccomp_error: "" when the seccomp filter compiles, else why not.
      landlock_abi: the kernel's Landlock ABI version (0: unavailable).
    """

    bwrap: str | None
    bwrap_error: str
    root: bool
    seccomp_error: str
    landlock_abi: int


def bwrap_base_args() -> list[str]:
    return ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]


@functools.lru_cache(maxsize=1)
def detect() -> Capabilities:
    """Probe the machine (cached for the process)."""
    bwrap, bwrap_error = shutil.which("bwrap"), ""
    if bwrap is None:
        bwrap_error = "bwrap not found on PATH (apt-get install -y bubblewrap)"
    else:
        try:
            proc = subprocess.run([bwrap, *bwrap_base_args(), "true"], capture_output=True, timeout=20,
                                  env={"PATH": "/usr/bin:/bin"})
            if proc.returncode != 0:
                why = " ".join(proc.stderr.decode(errors="replace").split())[:200]
                bwrap_error = "bwrap cannot create namespaces here: " + why
        except (OSError, subprocess.SubprocessError) as exc:
            bwrap_error = f"bwrap failed to start: {exc}"
        if bwrap_error:
            bwrap = None
    seccomp_error = ""
    try:
        from funsearch.sandbox.seccomp import compile_filter
        compile_filter()
    except Exception as exc:  # ImportError (pyseccomp) or OSError (libseccomp)
        seccomp_error = f"{type(exc).__name__}: {exc}"
    try:
        from funsearch.sandbox.landlock import abi_version
        abi = abi_version()
    except OSError:
        abi = 0
    return Capabilities(bwrap=bwrap, bwrap_error=bwrap_error, root=os.geteuid() == 0,
                        seccomp_error=seccomp_error, landlock_abi=abi)


def plan_protections(caps: Capabilities, failed_steps: dict[str, str] | None = None,
                     netns: bool | None = None) -> tuple[Protection, ...]:
    """The protections a fork server gets, given the machine and the steps its probe child could not apply."""
    failed = failed_steps or {}
    b = caps.bwrap is not None
    off_b = f"off because {caps.bwrap_error}"
    net_on = b or bool(netns)
    items = [
        Protection("bubblewrap", b, "fork server runs in its own mount/pid/net/ipc/uts namespaces" if b
                   else caps.bwrap_error),
        Protection("network", net_on, "own network namespace: no interfaces but a down loopback" if net_on
                   else "no network namespace (only the seccomp socket filter blocks the network)"),
        Protection("pid-namespace", b, "candidates see only their sandbox; every leftover process is killed" if b
                   else "no pid namespace: leftovers are found as descendants of the subreaper server"),
        Protection("read-only-fs", b, "/ bound read-only, private tmpfs /tmp, fresh /proc and /dev" if b else off_b),
        Protection("masked-secrets", b, f"{', '.join(MASKED_DIRS)} and /proc/1/environ masked, environment scrubbed"
                   if b else "environment scrubbed, but home folders and /proc stay visible (bubblewrap missing)"),
    ]
    uid_on = caps.root and "uid" not in failed
    items.append(Protection("uid-switch", uid_on, "candidates run as an unprivileged per-slot uid (RLIMIT_NPROC counts)"
                            if uid_on else failed.get("uid", "not root: cannot switch uid; RLIMIT_NPROC not applied")))
    items += [
        Protection("rlimits", True,
                   "address space, CPU seconds, file size, open files (and processes with uid switch)"),
        Protection("no_new_privs", True, "PR_SET_NO_NEW_PRIVS before any untrusted code"),
        Protection("pdeathsig", True, "children get SIGKILL when the fork server dies; bwrap dies with the harness"),
        Protection("subreaper", True, "setsid/double-fork escapees reparent to the fork server and are killed")]
    sec_on = not caps.seccomp_error and "seccomp" not in failed
    items.append(Protection("seccomp", sec_on, "denylist: ptrace, mount, unshare/setns, bpf, perf, keyctl, execve, "
                            "non-AF_UNIX sockets..." if sec_on else (caps.seccomp_error or failed.get("seccomp", ""))))
    ll_on = caps.landlock_abi >= 1 and "landlock" not in failed
    items.append(Protection("landlock", ll_on, f"ABI {caps.landlock_abi}: writes only in the child's tmp, no execve"
                            + (", no TCP" if caps.landlock_abi >= 4 else "")
                            + (", signals scoped" if caps.landlock_abi >= 6 else "")
                            if ll_on else failed.get("landlock", "kernel has no Landlock")))
    return tuple(items)


def warn_if_weak(protections: tuple[Protection, ...]) -> None:
    """Loud warning (warnings + stderr) naming every protection that is off."""
    off = [p for p in protections if not p.on]
    if not off:
        return
    text = "funsearch sandbox: protections OFF: " + "; ".join(f"{p.name} ({p.reason})" for p in off)
    warnings.warn(text, SandboxWarning, stacklevel=3)
    print(text, file=sys.stderr)


def describe_protections() -> tuple[Protection, ...]:
    """Protections this machine gives candidates (from detection; an Evaluator's `protections` also
    reflects its server's start-up probe)."""
    return plan_protections(detect())
