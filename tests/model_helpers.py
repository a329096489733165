"""Shared helpers for tests that use a real GGUF model (imported by the test modules, not a pytest plugin)."""
from __future__ import annotations

import pytest

from funsearch.weights.files import ensure_model_file, file_status
from funsearch.weights.parts import install_command
from funsearch.weights.registry import ModelSpec, load_registry
from funsearch.weights.verify import ModelFileError

# Tests run with one llama.cpp thread: with two threads, any other process on a 2-core machine
# makes OpenMP spin and generation ~10x slower; the outputs are identical either way.
TEST_THREADS = 1


def real_model(name: str) -> tuple[ModelSpec, str]:
    """The spec and verified GGUF path of a shipped model; skips (with the fix) when its wheels are not downloaded."""
    spec = load_registry()[name]
    st = file_status(spec)
    if not st.installed and st.parts_found < st.parts_total:
        pytest.skip(f"model wheels for '{name}' not downloaded ({st.parts_found}/{st.parts_total} parts): "
                    f"{install_command(spec)}")
    try:
        return spec, str(ensure_model_file(spec, progress=None))
    except ModelFileError as exc:  # a wrong file must fail the test, not skip it
        pytest.fail(str(exc))
