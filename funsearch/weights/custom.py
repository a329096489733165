"""Specs for models outside the registry: a `.gguf` file or a Hugging Face id / model folder (`--model`)."""
from __future__ import annotations

import re
from pathlib import Path

from funsearch.weights.registry import LlamaCppWeights, ModelRegistryError, ModelSpec, VllmWeights

_SIZE_IN_NAME = re.compile(r"(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])")


def params_from_name(name: str) -> float:
    """Billions of parameters read from a name like "qwen-7b" (0.0 when it says none)."""
    m = _SIZE_IN_NAME.search(name)
    return float(m.group(1)) if m else 0.0


def custom_gguf(path: Path) -> ModelSpec:
    """A spec for `--model FILE.gguf`: llama.cpp weights, sha256 from a `FILE.gguf.sha256` beside it if any."""
    if not path.is_file():
        raise ModelRegistryError(f"{path}: no such GGUF file")
    sidecar = path.with_name(path.name + ".sha256")  # optional: "<hex>  name" as sha256sum writes it
    sha = None
    if sidecar.is_file():
        sha = (sidecar.read_text(encoding="utf-8").split() or [""])[0].lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise ModelRegistryError(f"{sidecar}: does not start with a sha256 hex digest")
    return ModelSpec(
        name=f"custom:{path.name}", display_name=path.name, params_b=params_from_name(path.name),
        layers=0, hidden=0, kv_heads=0, head_dim=0, context=0, bytes_per_param={},
        llamacpp=LlamaCppWeights(quant="unknown", file=path.name, sha256=sha,
                                 size_bytes=path.stat().st_size, local_path=path.resolve()),
        vllm=None, chat=False)


def custom_vllm(model: str, config: dict | None) -> ModelSpec:
    """A spec for `--model ORG/NAME` or a model folder: vLLM weights, architecture from its config.json."""
    c = config or {}
    heads = int(c.get("num_attention_heads", 0) or 0)
    hidden = int(c.get("hidden_size", 0) or 0)
    head_dim = int(c.get("head_dim") or (hidden // heads if heads else 0))
    return ModelSpec(
        name=f"custom:{Path(model).name}", display_name=model, params_b=params_from_name(model),
        layers=int(c.get("num_hidden_layers", 0) or 0), hidden=hidden,
        kv_heads=int(c.get("num_key_value_heads", heads) or 0), head_dim=head_dim,
        context=int(c.get("max_position_embeddings", 0) or 0), bytes_per_param={"bf16": 2.0},
        llamacpp=None, vllm=VllmWeights(model=model, dtype="auto"), chat=True)
