"""Verifying model files: sha256 in 1 MiB chunks with a progress line, and the verified marker.

A marker file (`<file>.verified`) keyed on (sha256, size, mtime) records a verification, so a 1 GB file is
not rehashed on every load; a file that changed since gets hashed again.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import BinaryIO, TextIO

CHUNK = 1 << 20


class ModelFileError(Exception):
    """A model file is missing, incomplete or fails its sha256 check. One-line message.

    Not a ProposerError: the weights are no backend. A backend that loads a file (llama.cpp) turns it into one.
    """


class Progress:
    """A one-line progress bar on a text stream (redrawn in place on a terminal, in steps of 25% otherwise)."""

    def __init__(self, label: str, total: int, stream: TextIO | None):
        self.label, self.total, self.stream = label, max(total, 1), stream
        self.done, self._shown, self._t0 = 0, -1, time.monotonic()
        self._tty = bool(stream) and hasattr(stream, "isatty") and stream.isatty()

    def add(self, n: int) -> None:
        self.done += n
        if self.stream is None:
            return
        pct = min(100, self.done * 100 // self.total)
        step = pct if self._tty else pct // 25 * 25
        if step == self._shown:
            return
        self._shown = step
        bar = "#" * (pct // 4) + "." * (25 - pct // 4)
        rate = self.done / 1e6 / max(time.monotonic() - self._t0, 1e-6)
        line = f"{self.label} [{bar}] {pct:3d}% {self.done / 1e6:.0f}/{self.total / 1e6:.0f} MB {rate:.0f} MB/s"
        self.stream.write(("\r" + line) if self._tty else (line + "\n"))
        if self._tty and pct >= 100:
            self.stream.write("\n")
        self.stream.flush()


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _marker_record(path: Path, sha256: str) -> dict:
    st = path.stat()
    return {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def write_marker(path: Path, sha256: str) -> None:
    """Record that `path` (as it is now) has this sha256."""
    record = _marker_record(path, sha256)
    try:
        _marker(path).write_text(json.dumps(record))
    except OSError:  # a read-only folder (a user's own model): verify again next time
        pass


def marker_ok(path: Path, sha256: str) -> bool:
    """A marker records this sha256 for `path` as it is now (same size and mtime)."""
    try:
        m = json.loads(_marker(path).read_text())
        return m == _marker_record(path, sha256)
    except (OSError, ValueError):
        return False


def hash_stream(stream: BinaryIO, h, bar: Progress, out: BinaryIO | None = None) -> None:
    """Feed `stream` to `h` in 1 MiB chunks, advancing `bar` (and copying to `out`, when given)."""
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        if out is not None:
            out.write(chunk)
        bar.add(len(chunk))


def sha256_file(path: Path, progress: TextIO | None = None) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    bar = Progress(f"verifying {path.name}", path.stat().st_size, progress)
    with open(path, "rb") as f:
        hash_stream(f, h, bar)
    return h.hexdigest()


def verify_file(path: Path, sha256: str, size: int = 0, *, use_marker: bool = True,
                progress: TextIO | None = None) -> None:
    """Raise ModelFileError unless `path` exists with this sha256 (and size, when > 0)."""
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    if size and path.stat().st_size != size:
        raise ModelFileError(f"{path}: size {path.stat().st_size} != expected {size}; "
                             "refusing to load it (delete it and reinstall)")
    if use_marker and marker_ok(path, sha256):
        return
    got = sha256_file(path, progress)
    if got != sha256:
        raise ModelFileError(f"{path}: sha256 mismatch (expected {sha256[:16]}..., got {got[:16]}...); "
                             "refusing to load it")
    write_marker(path, sha256)
