"""Time limits are per instance (SandboxLimits.wall_seconds, cpu_seconds): each instance is timed separately
(a result record restarts the clock), all of them within wall_seconds x instances, and the child's RLIMIT_CPU is
cpu_seconds x instances. On both sandbox paths: the C fast path and the Python path (FUNSEARCH_SANDBOX_NATIVE=0)."""
from __future__ import annotations

import os
import time

import pytest

from funsearch.problem.evaluator import Evaluator
from funsearch.records import FailureKind
from funsearch.sandbox.limits import SandboxLimits

from sandbox_helpers import HONEST, toy

LIMITS = SandboxLimits(wall_seconds=1.0, cpu_seconds=2, memory_mb=1024)
INSTANCES = [{"name": f"i{k}", "values": [0.5, -1.0, 2.0, float(k)]} for k in range(4)]
SLOW_DRIVER = '''import time


def priority(value: float, position: int) -> float:
    return value


def solve(instance):  # replaces the driver: {seconds} s per instance, {hang}
    if instance["name"] == "{hang}":
        while True:
            time.sleep(1)
    time.sleep({seconds})
    return sorted(range(len(instance["values"])), key=lambda i: instance["values"][i])
'''


@pytest.fixture(scope="module", params=["fast-path", "python-path"])
def ev(request):
    os.environ["FUNSEARCH_SANDBOX_NATIVE"] = "1" if request.param == "fast-path" else "0"
    try:
        evaluator = Evaluator(toy(), LIMITS, slot=31)
    finally:
        del os.environ["FUNSEARCH_SANDBOX_NATIVE"]
    assert evaluator._server.fast_path().startswith("fast path: on") is (request.param == "fast-path")
    assert evaluator.evaluate(HONEST, instances=INSTANCES).valid  # the instances are known to the next spare
    yield evaluator
    evaluator.close()


def test_a_split_longer_than_one_instance_limit_is_fine(ev):
    start = time.monotonic()
    result = ev.evaluate(SLOW_DRIVER.format(seconds=0.6, hang="none"), instances=INSTANCES)
    assert result.valid, result.message  # 4 x 0.6 s: over 1 s in all, under 1 s each
    assert time.monotonic() - start >= 4 * 0.6
    assert result.seconds > LIMITS.wall_seconds


def test_a_hang_is_cut_one_instance_limit_after_the_last_result(ev):
    start = time.monotonic()
    result = ev.evaluate(SLOW_DRIVER.format(seconds=0.3, hang="i2"), instances=INSTANCES)
    elapsed = time.monotonic() - start
    assert 2 * 0.3 + LIMITS.wall_seconds <= elapsed < 2 * 0.3 + LIMITS.wall_seconds + 1.5, elapsed
    assert result.failure is FailureKind.TIMEOUT and not result.valid
    kinds = [o.failure for o in result.per_instance]
    assert kinds == [None, None, FailureKind.TIMEOUT, FailureKind.TIMEOUT]
    assert result.per_instance[2].message == "wall time limit of 1s per instance exceeded; process group killed"
    assert result.per_instance[3].message == "not run: instance 3 of 4 failed first"
    assert result.message.startswith("i2: wall time limit of 1s per instance")


def test_forged_records_cannot_stretch_the_deadline_past_all_instances(ev):
    forger = ("import os, time\n\n\ndef priority(value, position):\n    return value\n\n\n"
              "def solve(instance):\n    while True:  # a newline on the result fd every 0.4 s, forever\n"
              "        os.write(3, b'\\n')\n        time.sleep(0.4)\n")
    start = time.monotonic()
    result = ev.evaluate(forger, instances=INSTANCES)
    elapsed = time.monotonic() - start
    assert not result.valid and elapsed < len(INSTANCES) * LIMITS.wall_seconds + 1.5, elapsed


def test_the_cpu_limit_is_per_instance_times_instances(ev):
    probe = ("import resource\n\n\ndef priority(value, position):\n"
             "    raise RuntimeError(f'cpu {resource.getrlimit(resource.RLIMIT_CPU)}')\n")
    result = ev.evaluate(probe, instances=INSTANCES)
    assert result.failure is FailureKind.RUNTIME_ERROR
    assert "cpu (9, 10)" in result.message, result.message  # 2 s x 4 instances + the child's own second
    single = ev.evaluate(probe, instances=INSTANCES[:1])
    assert "cpu (3, 4)" in single.message, single.message


@pytest.mark.parametrize("field,value,words", [
    ("wall_seconds", float("inf"), "positive and finite"),
    ("wall_seconds", float("nan"), "positive and finite"),
    ("wall_seconds", 1e9, "beyond its bound"),
    ("cpu_seconds", 0, "positive"),
    ("memory_mb", 1 << 40, "beyond its bound"),
    ("memory_mb", 1.5, "an integer"),
    ("output_bytes", 1 << 40, "beyond its bound"),
    ("file_bytes", 1 << 62, "beyond its bound"),
    ("open_files", 1 << 31, "beyond its bound"),
    ("processes", -1, "positive"),
    ("stdout_bytes", 1 << 33, "beyond its bound"),
    ("processes", True, "an integer"),
])
def test_absurd_limits_are_refused_with_one_line(field, value, words):
    with pytest.raises(ValueError) as info:
        SandboxLimits(**{field: value})
    assert field in str(info.value) and words in str(info.value) and "\n" not in str(info.value)
