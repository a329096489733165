"""Run stores for the view's tests: scripted runs through the real CLI, a copy of one full of hostile text, and a
synthetic store of 10^5 samples written straight through SQLite (the view must aggregate it, not ship it)."""
from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

from funsearch.store.run_store import SCHEMA

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "bin_packing.py"
SCRIPT = ROOT / "tests" / "data" / "bin_packing_completions.json"

# untrusted text as a model or a candidate could write it: markup, script, a handler, a closing tag, remote URLs
HOSTILE = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"></textarea>'
           '<link rel="stylesheet" href="http://example.invalid/s.css"><iframe src="http://example.invalid/f">'
           '</iframe> https://example.invalid/a.png')
def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "funsearch", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def scripted_run(out: Path, script: Path = SCRIPT, samples: int = 10) -> Path:
    """A real run with the scripted backend (real Ray actors, the real sandbox); returns its run directory."""
    done = cli("run", str(PROBLEM), "--backend", "scripted", "--scripted", str(script), "--samples", str(samples),
               "--seed", "3", "--islands", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = [p for p in out.iterdir() if (p / "run.sqlite").is_file()]
    return run_dir


def copy_store(run_dir: Path, dest: Path) -> Path:
    """A consistent copy of a run's store (SQLite's backup: the write-ahead log included)."""
    dest.mkdir(parents=True)
    src, dst = sqlite3.connect(run_dir / "run.sqlite"), sqlite3.connect(dest / "run.sqlite")
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return dest


def hostile_copy(run_dir: Path, dest: Path) -> Path:
    """A copy of a finished run whose every prompt, completion, source, message and instance error carries
    HOSTILE (as a model or a candidate could write them)."""
    copy_store(run_dir, dest)
    db = sqlite3.connect(dest / "run.sqlite")
    comment = "\n    # " + HOSTILE + "\n"
    db.execute("UPDATE samples SET prompt = prompt || ?, completion = ? || completion || ?, "
               "message = CASE WHEN failure IS NULL THEN message ELSE ? || message END, "
               "source = CASE WHEN source IS NULL THEN NULL ELSE source || ? END",
               (HOSTILE, HOSTILE, comment, HOSTILE, comment))
    db.execute("UPDATE programs SET source = source || ?", (comment,))
    db.execute("UPDATE evaluations SET message = ? || COALESCE(message, ''), "
               "per_instance = json_set(per_instance, '$[0].error', json_object('kind', 'runtime_error', 'message', ?))",
               (HOSTILE, HOSTILE))
    db.commit()
    db.close()
    return dest


def show_json(run_dir: Path) -> dict:
    done = cli("show", str(run_dir), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


TINY_SWEEP = """name = "tiny"
problems = ["problems/bin_packing.py"]
sizes = ["small"]
budgets = ["$0.00002", "$0.00004"]
price_as = "h100"
seeds = [0]
baselines = ["best_of_n"]
backend = "scripted"
scripted_file = "experiments/smoke_completions.json"
max_samples = 12
islands = 2
eval_timeout = 10.0
"""


def tiny_sweep(out: Path) -> Path:
    """experiments/smoke.toml cut to one seed and one baseline (two runs): a real sweep folder."""
    config = out.parent / "tiny.toml"
    config.write_text(TINY_SWEEP)
    done = cli("sweep", str(config), "--out", str(out), "--no-report", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def large_store(run_dir: Path, samples: int = 100_000, islands: int = 10, seed: int = 0) -> dict:
    """A synthetic run of `samples` samples over two sizes: a quarter become programs (each with an evaluation
    and a parent drawn from its island), the rest fail with a class from a list that includes classes this
    view never heard of. Returns what was written: counts and the best score."""
    rng = random.Random(seed)
    run_dir.mkdir(parents=True)
    db = sqlite3.connect(run_dir / "run.sqlite")
    db.executescript(SCHEMA)
    cfg = {"problem": "problems/bin_packing.py", "model_sizes": ["small", "mid"], "backend": "scripted",
           "islands": islands, "seed": seed, "mode": "evolve"}
    db.execute("INSERT INTO meta VALUES ('config', ?)", (json.dumps(cfg),))
    db.execute("INSERT INTO evaluations (sample_id, program_hash, valid, score, per_instance, metrics) "
               "VALUES (-1, 'seed', 1, -60.0, '[]', '{}')")
    classes = ["no_code", "syntax_error", "runtime_error", "duplicate", "noop", "cascade_stop", "timeout"]
    sample_rows, eval_rows, program_rows = [], [], []
    best = {i: (0, -60.0) for i in range(islands)}
    pid, top = 0, -60.0
    for k in range(samples):
        island, model = rng.randrange(islands), ("small" if k % 3 else "mid")
        parent, parent_score = best[island] if rng.random() < 0.5 else (0, -60.0)
        if rng.random() < 0.25:
            pid += 1
            score = parent_score + rng.gauss(0, 0.3)
            h = f"h{k}"
            src = f"def priority(item, bins):\n    return -(bins - item) * {k}\n"
            sample_rows.append((k, island, json.dumps([parent]), model, "p" * 400, "c" * 200, None, "", h, src,
                                1e-6, 2e-6))
            eval_rows.append((k, h, 1, score, json.dumps([{"name": "a", "score": score}]), "{}", 1e-7, 1e-7))
            program_rows.append((pid, k, island, h, src, score, "[]", int(score > top)))
            top = max(top, score)
            if score > best[island][1]:
                best[island] = (pid, score)
        else:
            sample_rows.append((k, island, json.dumps([parent]), model, "p" * 400, "c" * 200,
                                rng.choice(classes), "failed", None, None, 1e-6, 2e-6))
    db.executemany("INSERT INTO samples (id, island, parent_ids, model, prompt, completion, failure, message, "
                   "program_hash, source, measured_cost, modelled_cost) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   sample_rows)
    db.executemany("INSERT INTO evaluations (sample_id, program_hash, valid, score, per_instance, metrics, "
                   "measured_cost, modelled_cost) VALUES (?,?,?,?,?,?,?,?)", eval_rows)
    db.executemany("INSERT INTO programs (id, sample_id, island, hash, source, score, signature, new_best) "
                   "VALUES (?,?,?,?,?,?,?,?)", program_rows)
    db.commit()
    db.close()
    return {"samples": samples, "programs": pid, "best": top}
