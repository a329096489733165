"""`funsearch run` refuses bad invocations before anything is written or announced, and names run directories
with one safe path component whatever --model is; the yield table labels a model by its spec's name."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from funsearch.config import make_config
from funsearch.orchestrator.session import default_run_dir

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "bin_packing.py"


def funsearch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "funsearch", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


@pytest.mark.parametrize("flags,error", [
    (["--model-size", "nosuch"], "unknown model 'nosuch'"),
    (["--model", "/path/to/my.toml"], "/path/to/my.toml: no such model file"),
    (["--budget", "5zz"], "invalid budget '5zz'"),
    (["--split", "or9"], "unknown split 'or9'"),
    (["--price-as", "abacus"], "unknown hardware 'abacus'"),
    (["--model-size", "small,tiny", "--pool-counts", "1"], "pool_counts: needs one count per model size"),
])
def test_a_refused_run_leaves_no_run_directory(tmp_path, flags, error):
    proc = funsearch("run", str(PROBLEM), *flags, "--samples", "1", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [f"error: {proc.stderr.strip()[7:]}"] and error in proc.stderr
    assert not (tmp_path / "runs").exists()
    assert "running until Ctrl-C" not in proc.stderr


def test_a_missing_problem_file_says_nothing_else_first(tmp_path):
    proc = funsearch("run", str(tmp_path / "nope.py"), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip() == f"error: problem file not found: {tmp_path / 'nope.py'}"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("model,label", [
    ("small", "small"),
    ("/path/to/my.toml", "my"),                      # the spec file's name when it cannot be read
    ("/models/Qwen2.5-Coder-0.5B.Q4_K_M.gguf", "Qwen2.5-Coder-0.5B.Q4_K_M"),
    ("Qwen/Qwen2.5-Coder-7B-Instruct", "Qwen2.5-Coder-7B-Instruct"),
    ("../../etc/passwd", "passwd"),
    ("a b/..", "x"),
    ("sm all:v2", "sm-all-v2"),
])
def test_run_directory_names_are_one_safe_component(tmp_path, model, label):
    cfg = make_config(problem=str(PROBLEM), model_sizes=model, backend="scripted")
    run_dir = default_run_dir(cfg, tmp_path)
    assert run_dir.parent == tmp_path
    assert run_dir.name.startswith(f"bin_packing__{label}__0__")
    assert all(c.isalnum() or c in "._+-" for c in run_dir.name) and not run_dir.name.startswith(".")


def test_a_spec_path_names_the_run_and_the_yield_table_by_its_name(tmp_path):
    specs = tmp_path / "my specs"
    specs.mkdir()
    text = (ROOT / "models" / "tiny.toml").read_text()
    (specs / "mymodel.toml").write_text(text.replace('name = "tiny"', 'name = "mymodel"', 1))
    script = tmp_path / "completions.json"
    script.write_text(json.dumps(["def priority(item, bins):\n    return -(bins - item) ** 2\n"]))
    out = tmp_path / "runs"
    proc = funsearch("run", str(PROBLEM), "--model", str(specs / "mymodel.toml"), "--backend", "scripted",
                     "--scripted-file", str(script), "--samples", "2", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run_dir,) = list(out.iterdir())
    assert run_dir.name.startswith("bin_packing__mymodel__0__") and (run_dir / "run.sqlite").is_file()
    shown = funsearch("show", str(run_dir), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len([ln for ln in lines if ln.strip().startswith("mymodel: 2 > ")]) == 1  # the yield table's row
    assert not [ln for ln in lines if ln.strip().startswith(str(specs))]


def test_a_run_that_failed_before_its_first_sample_is_discarded_and_one_with_samples_kept(tmp_path):
    from funsearch.cli.run import discard_if_empty
    from funsearch.store.run_store import RunStore

    empty, used = tmp_path / "empty", tmp_path / "used"
    for run_dir in (empty, used):
        store = RunStore(run_dir, create=True)
        if run_dir == used:
            store.add_sample({"id": 0, "model": "small", "completion": "x", "failure": "no_code"})
        store.close()
        (run_dir / "config.json").write_text("{}")
    discard_if_empty(empty)
    discard_if_empty(used)
    assert not empty.exists() and (used / "run.sqlite").is_file() and (used / "config.json").is_file()
