"""The pathological-source corpus (tests/hostile/pathological.py) against everything the harness does with
candidate text in its own process: `funsearch eval --json` judges each file (exit 0, one JSON object with the
expected class, nothing left behind) and a scripted run records and classifies every one of them as a sample."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "bin_packing.py"
_spec = importlib.util.spec_from_file_location("pathological", ROOT / "tests" / "hostile" / "pathological.py")
pathological = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pathological)
CORPUS = pathological.corpus()
RAN_TO_A_VERDICT = (None, "noop", "cascade_stop", "duplicate")  # a valid program, as the run's loop judges it


def _as_file(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def _sandbox_dirs() -> set[str]:
    return {p.name for p in Path("/tmp").glob("funsearch-slot*")}


def test_the_harness_own_steps_never_raise_on_the_corpus():
    from funsearch.problem.evaluate_file import decode_source
    from funsearch.problem.evaluator import check_source
    from funsearch.proposers.base import Completion, Usage
    from funsearch.search.bookkeeping import extract

    for name, (text, expected) in CORPUS.items():
        if isinstance(text, bytes):
            text = decode_source(text)
            if not isinstance(text, str):
                assert text.failure.value == expected == "syntax_error", name
                continue
        completion = Completion(text, Usage(0, 0, 0.0, 0.0), "m", 0)
        outcome = extract(0, completion, "priority", ("item", "bins"), None)
        if expected == "syntax_error":
            assert outcome.failure is not None and outcome.failure.value == "syntax_error", name
            assert outcome.message and "\n" not in outcome.message, name
        else:
            assert outcome.failure is None and outcome.program_hash, (name, outcome.message)
            assert check_source(outcome.source, "priority") is None, name
        broken = check_source(completion.text, "priority")
        assert broken is None or broken.failure.value == "syntax_error", name


def test_a_program_too_deep_for_unparse_still_has_a_hash_that_ignores_comments():
    from funsearch.program.canonical import program_hash
    deep = "def priority(item, bins):\n    return " + "-" * 800 + "bins  # note\n"
    assert program_hash(deep) == program_hash(deep.replace("  # note", ""))
    assert program_hash(deep) != program_hash(deep.replace("bins  #", "(bins + 1)  #"))


def test_lone_surrogates_in_a_completion_become_replacement_characters():
    from funsearch.proposers.base import Completion, Usage
    text = Completion("x = 1  # \ud800 \U0001F600", Usage(0, 0, 0.0, 0.0), "m", 0).text
    assert text == "x = 1  # \ufffd\ufffd\ufffd \U0001F600"
    text.encode("utf-8")  # a store, a terminal and JSON take it


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_funsearch_eval_classifies_pathological_sources(tmp_path, name):
    text, expected = CORPUS[name]
    candidate = tmp_path / f"{name}.py"
    candidate.write_bytes(_as_file(text))
    before, sandboxes = sorted(p.name for p in tmp_path.iterdir()), _sandbox_dirs()
    proc = subprocess.run([sys.executable, "-m", "funsearch", "eval", str(PROBLEM), str(candidate), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(proc.stdout.splitlines()) == 1
    result = json.loads(proc.stdout)
    if expected is None:
        assert result["valid"] is True and result["error"] is None, result["error"]
    else:
        assert result["valid"] is False and result["score"] is None
        assert result["error"]["kind"] == expected, result["error"]
        message = result["error"]["message"]
        assert message and "\n" not in message and len(message) <= 300
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert _sandbox_dirs() <= sandboxes


def test_a_scripted_run_records_and_classifies_every_pathological_completion(tmp_path):
    names = [n for n, (text, _) in CORPUS.items() if isinstance(text, str)]  # a model emits text, not bytes
    script = tmp_path / "completions.json"
    script.write_text(json.dumps([CORPUS[n][0] for n in names]))
    out = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-m", "funsearch", "run", str(PROBLEM), "--backend", "scripted",
                           "--scripted-file", str(script), "--samples", str(len(names)), "--max-tokens", "2000000",
                           "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "stopped: samples" in proc.stdout
    (run_dir,) = list(out.iterdir())
    from funsearch.store.run_store import RunStore
    store = RunStore(run_dir)
    try:
        samples = store.samples()
    finally:
        store.close()
    assert [s["id"] for s in samples] == list(range(len(names)))
    for name, sample in zip(names, samples):
        expected = CORPUS[name][1]
        if expected is None:
            assert sample["failure"] in RAN_TO_A_VERDICT, (name, sample["failure"], sample["message"])
        else:
            assert sample["failure"] == expected, (name, sample["failure"], sample["message"])
            assert sample["message"] and "\n" not in sample["message"] and len(sample["message"]) <= 300
