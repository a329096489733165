"""The hostile corpus (tests/hostile/*.py) against the real sandbox: exact outcome for each attack,
nothing written, no connection, no process left, harness and fork server alive. Every attack runs twice:
on the native fast path (the C evaluation cycle) and on the Python path (FUNSEARCH_SANDBOX_NATIVE=0)."""
from __future__ import annotations

import os
import select
import socket
import time
from pathlib import Path

import pytest

from funsearch.problem.evaluator import Evaluator, evaluate_in_process
from funsearch.records import FailureKind
from funsearch.sandbox.client import UID_BASE
from funsearch.sandbox.limits import SandboxLimits

from sandbox_helpers import MARKER, hostile_source, processes_matching, processes_of_uid, toy

SLOT = 7
LIMITS = SandboxLimits(wall_seconds=1.5, cpu_seconds=2, memory_mb=1024, output_bytes=1 << 20)
SECRET = "s3cr3t-" + os.urandom(6).hex()
SECRET_FILE = Path("/root/.funsearch_test_secret")


@pytest.fixture(scope="module", params=["fast-path", "python-path"])
def world(request):
    os.environ["FUNSEARCH_TEST_SECRET"] = SECRET
    SECRET_FILE.write_text(SECRET)
    outside = Path(f"/var/tmp/funsearch-hostile-{os.getpid()}")
    outside.mkdir(mode=0o777, exist_ok=True)
    os.chmod(outside, 0o777)  # only the sandbox, not file modes, keeps candidates out
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    problem = toy()
    os.environ["FUNSEARCH_SANDBOX_NATIVE"] = "1" if request.param == "fast-path" else "0"
    try:
        evaluator = Evaluator(problem, LIMITS, slot=SLOT)
    finally:
        del os.environ["FUNSEARCH_SANDBOX_NATIVE"]
    assert evaluator._server.fast_path().startswith("fast path: on") is (request.param == "fast-path"), evaluator._server.fast_path()
    baseline = evaluate_in_process(problem, problem.baseline_source)
    yield {"ev": evaluator, "outside": outside, "port": listener.getsockname()[1], "listener": listener,
           "baseline": baseline, "problem": problem}
    evaluator.close()
    listener.close()
    SECRET_FILE.unlink(missing_ok=True)
    del os.environ["FUNSEARCH_TEST_SECRET"]
    for child in outside.iterdir():
        child.unlink()
    outside.rmdir()


def run(world, name):
    outside = world["outside"]
    (outside / "keep.txt").write_text("keep")
    before = sorted(p.name for p in outside.iterdir())
    source = hostile_source(name, __OUTSIDE_DIR__=str(outside), __PORT__=str(world["port"]),
                            __SECRET_FILE__=str(SECRET_FILE))
    restarts = world["ev"].restarts
    start = time.monotonic()
    result = world["ev"].evaluate(source)
    elapsed = time.monotonic() - start
    assert elapsed < LIMITS.wall_seconds + 1.5, f"{name} took {elapsed:.2f}s"
    # nothing survives, nothing written or deleted outside the sandbox, no stray file in the real /tmp
    assert processes_matching(MARKER) == []
    give_up = time.monotonic() + 5.0  # the killed child may still be tearing down (seconds on a loaded machine)
    while len(processes_of_uid(UID_BASE + SLOT)) > 1 and time.monotonic() < give_up:
        time.sleep(0.01)
    assert len(processes_of_uid(UID_BASE + SLOT)) <= 1  # at most the idle, hardened spare child
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (outside / "keep.txt").read_text() == "keep"
    assert not Path(f"/tmp/{MARKER}").exists()
    # the fork server is still the same one, and still evaluates honest candidates
    assert world["ev"].restarts == restarts
    again = world["ev"].evaluate(world["problem"].baseline_source)
    assert again.valid and again.score == world["baseline"].score
    return result


def assert_failed(result, kind, text=""):
    assert result.valid is False and result.score is None
    assert result.failure is kind, (result.failure, result.message)
    assert text in result.message, result.message
    assert len(result.message) <= 300 and "\n" not in result.message
    assert result.metrics == {}


@pytest.mark.parametrize("name", ["infinite_loop", "ignore_sigterm"])
def test_loops_are_killed_at_the_wall_deadline(world, name):
    result = run(world, name)
    assert_failed(result, FailureKind.TIMEOUT, "wall time limit")
    assert result.seconds >= LIMITS.wall_seconds


def test_50gb_allocation_is_a_memory_error(world):
    assert_failed(run(world, "huge_alloc"), FailureKind.MEMORY, "MemoryError")


def test_fork_bomb_hits_the_process_limit_and_leaves_nothing(world):
    assert_failed(run(world, "fork_bomb"), FailureKind.RUNTIME_ERROR, "BlockingIOError")


def test_setsid_double_fork_grandchild_does_not_survive(world):
    result = run(world, "setsid_escape")
    assert result.valid and result.score == world["baseline"].score


def test_socket_connect_is_refused_and_nothing_arrives(world):
    assert_failed(run(world, "socket_connect"), FailureKind.RUNTIME_ERROR, "PermissionError")
    pending, _, _ = select.select([world["listener"]], [], [], 0.2)
    assert pending == []


def test_secrets_are_not_readable(world):
    result = run(world, "read_secrets")
    assert_failed(result, FailureKind.RUNTIME_ERROR, "leak:")
    assert SECRET not in str(result.to_json())
    assert "PermissionError" in result.message or "FileNotFoundError" in result.message


def test_killing_the_parent_fails_and_server_survives(world):
    result = run(world, "kill_parent")
    assert result.valid and result.score == world["baseline"].score


def test_stdout_flood_and_forged_lines_change_nothing(world):
    result = run(world, "stdout_flood")
    assert result.valid and result.score == world["baseline"].score < 1.0


@pytest.mark.parametrize("name", ["monkeypatch_scorer", "gc_frame_tricks"])
def test_patching_the_scorer_inside_the_child_changes_nothing(world, name):
    result = run(world, name)
    assert result.valid and result.score == world["baseline"].score < 1.0
    assert result.metrics == world["baseline"].metrics


@pytest.mark.parametrize("name,text", [("os_exit", "status 0"), ("os_exit_nonzero", "status 3"),
                                       ("system_exit", "SystemExit"), ("keyboard_interrupt", "KeyboardInterrupt"),
                                       ("recursion_bomb", "RecursionError")])
def test_exits_and_exceptions_are_runtime_errors(world, name, text):
    assert_failed(run(world, name), FailureKind.RUNTIME_ERROR, text)


@pytest.mark.parametrize("name", ["ctypes_segfault", "recursion_c_stack"])
def test_segfaults_are_crashes(world, name):
    assert_failed(run(world, name), FailureKind.CRASH, "SIGSEGV")


def test_huge_output_is_capped(world):
    assert_failed(run(world, "huge_output"), FailureKind.OUTPUT_TOO_LARGE, str(LIMITS.output_bytes))


@pytest.mark.parametrize("name", ["nan_output", "inf_output"])
def test_non_finite_output_is_bad_output(world, name):
    assert_failed(run(world, name), FailureKind.BAD_OUTPUT, "")


def test_wrong_shape_is_rejected_by_the_trusted_scorer(world):
    assert_failed(run(world, "wrong_shape"), FailureKind.INVALID_SOLUTION, "InvalidSolution")


def test_malicious_objects_cannot_cross(world):
    assert_failed(run(world, "malicious_objects"), FailureKind.BAD_OUTPUT, "Perfect")


def test_lying_int_subclass_crosses_as_a_plain_int(world):
    assert_failed(run(world, "malicious_int"), FailureKind.INVALID_SOLUTION, "permutation")


def test_writes_and_deletes_outside_tmp_have_no_effect(world):
    result = run(world, "write_outside")
    assert result.valid and result.score == world["baseline"].score


def test_os_system_runs_nothing(world):
    result = run(world, "os_system")
    assert result.valid and result.score == world["baseline"].score


def test_subprocess_cannot_execute(world):
    assert_failed(run(world, "subprocess_run"), FailureKind.RUNTIME_ERROR, "PermissionError")


# --- the command line: `funsearch eval` on hostile files ----------------------------------------------
# (`eval` takes the evolved function from the file, so attacks that replace the driver do not apply here)
CLI_CASES = {
    "infinite_loop": "timeout", "ignore_sigterm": "timeout", "huge_alloc": "memory_error",
    "fork_bomb": "runtime_error", "ctypes_segfault": "crash", "socket_connect": "runtime_error",
    "subprocess_run": "runtime_error", "os_exit": "runtime_error", "keyboard_interrupt": "runtime_error",
    "recursion_bomb": "runtime_error",
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_funsearch_eval_judges_hostile_files_and_leaves_nothing(tmp_path, name):
    import json
    import subprocess
    import sys
    candidate = tmp_path / f"{name}.py"
    candidate.write_text(hostile_source(name, __OUTSIDE_DIR__=str(tmp_path), __PORT__="9",
                                        __SECRET_FILE__=str(SECRET_FILE)))
    before = sorted(p.name for p in tmp_path.iterdir())
    timeout = 1.5
    proc = subprocess.run([sys.executable, "-m", "funsearch", "eval", str(toy().path), str(candidate), "--json",
                           "--timeout", str(timeout)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["valid"] is False and result["score"] is None
    assert result["error"]["kind"] == CLI_CASES[name], result
    assert result["error"]["message"] and "\n" not in result["error"]["message"]
    assert result["seconds"] < timeout + 1.5, result["seconds"]
    assert processes_matching(MARKER) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before
