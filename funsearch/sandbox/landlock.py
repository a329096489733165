"""Landlock through ctypes: a read-only filesystem except one writable folder, no TCP, scoped signals.

Used by the fork server: `build_ruleset(writable_dir)` once (an fd the children inherit), then
`restrict_self(fd)` in each candidate child after no_new_privs. Reading stays allowed everywhere the
uid may read (Landlock here restricts writes, execution, TCP and, from ABI 6, signals/abstract sockets).
"""
from __future__ import annotations

import ctypes
import os
import struct

_SYS_CREATE_RULESET = 444   # same number on every architecture (unified syscall table)
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13          # ABI 2
TRUNCATE = 1 << 14       # ABI 3
NET_BIND_TCP = 1 << 0    # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class LandlockError(OSError):
    """Landlock is unavailable or a Landlock call failed."""


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is unsupported or disabled."""
    version = _libc.syscall(ctypes.c_long(_SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                            ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _write_rights(abi: int) -> int:
    rights = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK
              | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM)
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    return rights


def build_ruleset(writable_dir: str) -> int:
    """A ruleset fd: writes only beneath `writable_dir`, no execve anywhere, no TCP (ABI>=4),
    signals and abstract unix sockets scoped to the sandbox (ABI>=6). Raises LandlockError."""
    abi = abi_version()
    if abi < 1:
        raise LandlockError("Landlock is not supported by this kernel")
    handled_fs = _write_rights(abi) | EXECUTE
    if abi >= 6:
        attr = struct.pack("=QQQ", handled_fs, NET_BIND_TCP | NET_CONNECT_TCP, SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL)
    elif abi >= 4:
        attr = struct.pack("=QQ", handled_fs, NET_BIND_TCP | NET_CONNECT_TCP)
    else:
        attr = struct.pack("=Q", handled_fs)
    buf = ctypes.create_string_buffer(attr, len(attr))
    fd = _libc.syscall(ctypes.c_long(_SYS_CREATE_RULESET), buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if fd < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, f"landlock_create_ruleset failed: {os.strerror(err)}")
    dir_fd = os.open(writable_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        rule = ctypes.create_string_buffer(struct.pack("=Qi", _write_rights(abi), dir_fd), 12)
        if _libc.syscall(ctypes.c_long(_SYS_ADD_RULE), ctypes.c_int(fd), ctypes.c_int(_RULE_PATH_BENEATH),
                         rule, ctypes.c_uint32(0)) < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise LandlockError(err, f"landlock_add_rule failed: {os.strerror(err)}")
    finally:
        os.close(dir_fd)
    return int(fd)


def restrict_self(ruleset_fd: int) -> None:
    """Enforce the ruleset on the calling thread (needs no_new_privs first). Raises LandlockError."""
    if _libc.syscall(ctypes.c_long(_SYS_RESTRICT_SELF), ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, f"landlock_restrict_self failed: {os.strerror(err)}")
