"""Shared helpers for the sandbox tests: the toy problem, hostile sources, /proc scans."""
from __future__ import annotations

import os
from pathlib import Path

from funsearch.problem.loader import load_problem

TESTS = Path(__file__).resolve().parent
TOY = TESTS / "fixtures" / "toy_problem.py"
HOSTILE = TESTS / "hostile"
MARKER = "fshostile"
HONEST = "def priority(value: float, position: int) -> float:\n    return value\n"


def toy():
    return load_problem(TOY)


def hostile_source(name: str, **subs: str) -> str:
    text = (HOSTILE / f"{name}.py").read_text()
    for key, value in {"__MARKER__": MARKER, **subs}.items():
        text = text.replace(key, value)
    return text


def processes_matching(marker: str) -> list[int]:
    """Pids on this machine whose name or command line carries the marker (a psutil-free /proc scan)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/comm", "rb") as fh:
                comm = fh.read()
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if marker.encode() in comm or marker.encode() in cmdline:
            found.append(int(name))
    return found


def processes_of_uid(uid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(name))
                        break
        except (OSError, ValueError, IndexError):
            continue
    return found
