"""Short labels for a proposer model as a run names it (a registry size, a .toml spec, a .gguf file, a model
folder or a Hugging Face id): what run directory names and the yield table show. Never raises."""
from __future__ import annotations

import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def model_label(model: str) -> str:
    """The registry name of a size; the spec's `name` for a .toml spec (its file name when it cannot be read);
    the file's stem for a .gguf; the last part of a folder or of a Hugging Face id ("org/name")."""
    text = str(model)
    path = Path(text)
    if path.suffix == ".toml":
        try:
            from funsearch.weights.registry import load_spec
            return load_spec(path).name
        except Exception:
            return path.stem
    if path.suffix == ".gguf":
        return path.stem
    if "/" in text:
        return path.name or text
    return text


def path_component(text: str, limit: int = 48) -> str:
    """`text` as one safe path component: letters, digits, '.', '_' and '-' only (anything else, '/' included,
    becomes '-'), no '__' (run directory names use it between their fields), no leading dot, at most `limit`."""
    safe = re.sub(r"_{2,}", "_", _UNSAFE.sub("-", text)).strip(".-_")[:limit].strip(".-_")
    return safe or "x"
