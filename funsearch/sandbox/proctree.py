"""The process table from /proc: parents, states and descendants (Linux). Used by the sandbox's reaper,
by tests that check nothing survives, and by benchmarks that measure a run's processes."""
from __future__ import annotations

import os


def proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, state) for every process visible in /proc."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            table[int(name)] = (int(fields[1]), fields[0].decode())
        except (OSError, IndexError, ValueError):
            continue
    return table


def descendants(root: int, table: dict[int, tuple[int, str]] | None = None) -> set[int]:
    """Every process below `root` (children, grandchildren, ...)."""
    table = proc_table() if table is None else table
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def cmdline_starts_with(pid: int, prefix: bytes) -> bool:
    """True when the process's command line starts with `prefix` (False once it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().startswith(prefix)
    except OSError:
        return False
