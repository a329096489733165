"""A seccomp denylist for candidate children, compiled once by libseccomp (pyseccomp) and loaded
in each child with one prctl call (so a fork costs microseconds, not a libseccomp compile).

Denied with EPERM: debugging and memory peeking (ptrace, process_vm_*), namespaces and mounts
(unshare, setns, mount, pivot_root, chroot, clone/clone3 with namespace flags), program execution
(execve, execveat), kernel attack surface (bpf, perf_event_open, keyctl, userfaultfd, io_uring,
modules, kexec, reboot, swap, acct, handle-based opens) and every socket family except AF_UNIX.
"""
from __future__ import annotations

import ctypes
import errno
import os
import socket
import tempfile

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "acct", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at",
    "name_to_handle_at", "execve", "execveat", "fanotify_init", "lookup_dcookie", "syslog",
)
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                    0x40000000, 0x00000080)  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME

_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def compile_filter() -> bytes:
    """The denylist as raw BPF (struct sock_filter[]). Raises ImportError/OSError when libseccomp is missing."""
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            f.add_rule(deny, name)
        except (RuntimeError, ValueError, OSError):
            continue  # syscall unknown on this architecture
    f.add_rule(deny, "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
    for flag in _NAMESPACE_FLAGS:
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")  # flags live in memory: make libc fall back to clone()
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()


class Program:
    """A compiled filter kept in memory, ready to be loaded by a forked child."""

    def __init__(self, bpf: bytes) -> None:
        if not bpf or len(bpf) % 8:
            raise ValueError("seccomp program is empty or not a sock_filter array")
        self._buf = ctypes.create_string_buffer(bpf, len(bpf))
        self._prog = _SockFprog(len(bpf) // 8, ctypes.addressof(self._buf))
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in every forked child
        self.address = ctypes.addressof(self._prog)  # the struct sock_fprog, for the native fork helper

    def load(self) -> None:
        """Install the filter on the calling thread (needs no_new_privs or CAP_SYS_ADMIN). Raises OSError."""
        if self._prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(self._prog), 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_SECCOMP) failed: {os.strerror(err)}")
