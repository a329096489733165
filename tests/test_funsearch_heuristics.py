"""FunSearch's two published bin packing heuristics, as candidate files (problems/baselines/bin_packing/
funsearch_or.py and funsearch_weibull.py), through `funsearch eval --json` with default flags: the paper's
figures, the per-instance time limit in the output, no timeout although the OR one takes many seconds per split."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from funsearch.sandbox.limits import DEFAULT_INSTANCE_SECONDS

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "problems" / "baselines" / "bin_packing"


@pytest.mark.parametrize("name,split,excess", [("funsearch_or", "or4", 2.47), ("funsearch_weibull", "weibull_5k", 0.68)])
def test_published_heuristics_reproduce_the_paper_with_default_flags(name, split, excess):
    proc = subprocess.run([sys.executable, "-m", "funsearch", "eval", str(ROOT / "problems" / "bin_packing.py"),
                           str(BASELINES / f"{name}.py"), "--split", split, "--json"],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["valid"] is True, result["error"]
    assert round(result["metrics"]["excess_bins_pct"], 2) == excess
    assert result["time_limit"] == {"wall_seconds_per_instance": DEFAULT_INSTANCE_SECONDS,
                                    "cpu_seconds_per_instance": DEFAULT_INSTANCE_SECONDS,
                                    "instances_timed": "separately"}


def test_eval_reports_a_given_timeout_per_instance(tmp_path):
    candidate = tmp_path / "hang.py"
    candidate.write_text("def priority(item, bins):\n    while True:\n        pass\n")
    proc = subprocess.run([sys.executable, "-m", "funsearch", "eval", str(ROOT / "problems" / "bin_packing.py"),
                           str(candidate), "--json", "--timeout", "1.5"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["error"]["kind"] == "timeout" and "1.5s per instance" in result["error"]["message"]
    assert result["time_limit"]["wall_seconds_per_instance"] == 1.5
    assert result["seconds"] < 1.5 + 1.5  # the first instance hung: one instance's limit, not 20 of them
    bad = subprocess.run([sys.executable, "-m", "funsearch", "eval", str(ROOT / "problems" / "bin_packing.py"),
                          str(candidate), "--timeout", "inf"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stderr.strip().startswith("error: --timeout: SandboxLimits.wall_seconds")
