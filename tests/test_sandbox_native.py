"""The native fast path (funsearch/sandbox/native.py, native/*.c) against the Python path:
the same outcome for every kind of candidate, the C cycle actually used for the usual ones, the hardening
helper reporting a failed step, and what the C cycle must hand back to Python (new instances, a dirty
tmp folder, non-ASCII output). The hostile corpus runs on both paths in test_sandbox_hostile.py."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from funsearch.problem.evaluator import Evaluator, evaluate_in_process
from funsearch.records import FailureKind
from funsearch.sandbox import native
from funsearch.sandbox.limits import SandboxLimits

from sandbox_helpers import HONEST, TESTS, toy

LIMITS = SandboxLimits(wall_seconds=1.0, cpu_seconds=5, memory_mb=1024, output_bytes=1 << 20)
HEAD = "def priority(value: float, position: int) -> float:\n"
CANDIDATES = {
    "honest": HONEST,
    "reversed": HEAD + "    return -value\n",
    "runtime_error": HEAD + "    raise ValueError('no ' + str(position))\n",
    "nan": HEAD + "    return float('nan')\n",
    "ascii_stdout": HEAD + "    print('a \"quoted\" \\\\ line\\twith tab')\n    return value\n",
    "utf8_stdout": HEAD + "    print('caf\\u00e9 \\u2713')\n    return value\n",
    "exit": HEAD + "    import os\n    os._exit(3)\n",
    "compile_error": HEAD + "    return value\nnonlocal x\n",
    "timeout": HEAD + "    while True:\n        pass\n",
}


def evaluator(slot: int, fast: bool) -> Evaluator:
    old = os.environ.get("FUNSEARCH_SANDBOX_NATIVE")
    os.environ["FUNSEARCH_SANDBOX_NATIVE"] = "1" if fast else "0"
    try:
        return Evaluator(toy(), LIMITS, slot=slot)
    finally:
        if old is None:
            del os.environ["FUNSEARCH_SANDBOX_NATIVE"]
        else:
            os.environ["FUNSEARCH_SANDBOX_NATIVE"] = old


@pytest.fixture(scope="module")
def pair():
    fast, slow = evaluator(21, True), evaluator(22, False)
    for ev in (fast, slow):  # the first candidate brings the instances: the Python path forks a spare that has them
        assert ev.evaluate(HONEST).valid
    yield fast, slow
    fast.close()
    slow.close()


def test_the_library_builds_and_reports_its_abi():
    path, why = native.build()
    assert path is not None, why
    assert native.load(str(path)).fs_abi() == native.ABI


def test_servers_report_which_path_they_use(pair):
    fast, slow = pair
    assert fast._server.fast_path() == "fast path: on (native C evaluation cycle)"
    assert "FUNSEARCH_SANDBOX_NATIVE=0" in slow._server.fast_path()


@pytest.mark.parametrize("name", sorted(CANDIDATES))
def test_both_paths_give_the_same_outcome(pair, name):
    fast, slow = pair
    a, b = fast.evaluate(CANDIDATES[name]), slow.evaluate(CANDIDATES[name])
    assert (a.valid, a.score, a.failure, a.message) == (b.valid, b.score, b.failure, b.message)
    assert [(o.name, o.score, o.failure) for o in a.per_instance] == [(o.name, o.score, o.failure) for o in b.per_instance]
    assert a.metrics == b.metrics
    assert "fast" not in slow._server.last_header
    # the C cycle replies itself for children that ended cleanly, alone, with plain ASCII output
    clean = name in ("honest", "reversed", "runtime_error", "nan", "ascii_stdout", "compile_error")
    assert fast._server.last_header.get("fast", False) is clean, (name, fast._server.last_header)
    if name.endswith("stdout"):
        assert fast._server.last_header["stdout"] == slow._server.last_header["stdout"] != ""


def test_honest_scores_match_on_both_paths_after_a_failure(pair):
    fast, slow = pair
    fast.evaluate(CANDIDATES["timeout"])
    slow.evaluate(CANDIDATES["timeout"])
    a, b = fast.evaluate(HONEST), slow.evaluate(HONEST)
    assert a.valid and a.score == b.score == 1.0


def test_the_c_cycle_hands_a_dirty_tmp_folder_to_python_to_wipe(pair):
    fast, _ = pair
    writer = HEAD + "    open('left_behind.txt', 'w').write('x')\n    return value\n"
    reader = HEAD + "    import os\n    if os.listdir('.'):\n        raise RuntimeError(f'tmp not wiped: {os.listdir(\".\")}')\n    return value\n"
    for _ in range(3):
        assert fast.evaluate(writer).valid
        assert fast._server.last_header.get("fast") is True
        result = fast.evaluate(reader)
        assert result.valid, result.message


def test_children_of_the_c_cycle_start_from_the_fixed_random_state(pair):
    fast, _ = pair
    source = "import random\n" + HEAD + "    raise ValueError(f'r={random.random()}')\n"
    messages = [fast.evaluate(source).message for _ in range(4)]
    assert fast._server.last_header.get("fast") is True
    assert len({m.split("r=")[1].split()[0] for m in messages}) == 1, messages


def test_new_instances_go_through_python_then_back_to_the_c_cycle(pair):
    fast, _ = pair
    problem = toy()
    custom = [{"name": "c0", "values": [3.0, 1.0, 2.0]}]
    for _ in range(2):
        a = fast.evaluate(HONEST, instances=custom)
        b = fast.evaluate(HONEST, split="single")
        assert a.valid and b.valid
    assert fast._server.last_header.get("fast") is True
    assert a.score == evaluate_in_process(problem, HONEST, instances=custom).score
    assert b.score == evaluate_in_process(problem, HONEST, split="single").score


def test_a_failed_hardening_step_is_named(tmp_path):
    """fs_fork in a fresh process: a missing workdir fails step 4 in the child, with its errno."""
    script = tmp_path / "fork_fail.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(TESTS.parent)!r})
        from funsearch.sandbox import native
        from funsearch.sandbox.child import Hardening
        lib = native.load(str(native.build()[0]))
        devnull = os.open(os.devnull, os.O_RDWR)
        h = Hardening(uid=None, landlock_fd=None, seccomp=None, workdir="/nonexistent/funsearch",
                      server_pid=os.getpid(), rlimits=())
        plan, outcome = native.make_plan(h, devnull, None), native.Outcome()
        r, w = os.pipe()
        plan.out_fd, plan.result_fd, plan.command_fd = devnull, w, devnull
        pid = lib.fs_fork(plan, outcome)
        if pid == 0:
            os.write(3, (native.failure(outcome) + "|" + ",".join(native.steps_done(plan, outcome))).encode())
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        print(os.read(r, 4096).decode())
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    failure, done = proc.stdout.strip().split("|")
    assert failure == "workdir: OSError: [Errno 2] No such file or directory"
    assert done == "setsid,fds,rlimits"


def test_a_timeout_on_the_c_cycle_is_a_timeout(pair):
    fast, _ = pair
    result = fast.evaluate(CANDIDATES["timeout"])
    assert result.failure is FailureKind.TIMEOUT and "wall time limit" in result.message


def test_the_library_falls_back_to_the_cache_when_its_folder_is_unusable(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    targets = [blocker / "lib.so", tmp_path / "cache" / "lib.so"]
    monkeypatch.setattr(native, "library_paths", lambda: targets)
    path, why = native.build()
    assert path == targets[1], why
    assert native.load(str(path)).fs_abi() == native.ABI
    assert native.build() == (targets[1], "")  # found, not rebuilt


def test_a_candidate_that_made_a_process_is_never_proven_alone(pair):
    fast, _ = pair
    assert fast._server.ready["fast_path_off"] == ""
    forker = ("import os\n" + HEAD + "    if position == 0:\n        pid = os.fork()\n"
              "        if pid == 0:\n            os._exit(0)\n        os.waitpid(pid, 0)\n    return value\n")
    for _ in range(3):
        result = fast.evaluate(forker)
        assert result.valid, result.message
        assert "fast" not in fast._server.last_header  # the last-pid proof failed: Python scanned /proc
        assert fast.evaluate(HONEST).valid and fast._server.last_header.get("fast") is True


def test_more_instance_sets_than_the_server_keeps(pair):
    fast, slow = pair
    problem = toy()
    sets = [[{"name": f"s{k}", "values": [float(k), 1.0, -2.0, 0.5]}] for k in range(20)]  # the server keeps 16
    for ev in (fast, slow):
        for instances in sets + sets[:3]:
            result = ev.evaluate(HONEST, instances=instances)
            assert result.valid and result.score == evaluate_in_process(problem, HONEST, instances=instances).score
    assert fast.evaluate(HONEST, instances=sets[-1]).valid
    assert fast._server.last_header.get("fast") is True


@pytest.mark.parametrize("fast", [True, False])
def test_without_bubblewrap_both_paths_still_judge_and_sweep(monkeypatch, fast):
    """No bubblewrap: no pid namespace, so no last-pid proof and no early spare; every child is concluded
    by a /proc scan of the server's descendants, on both paths."""
    from funsearch.sandbox import client, protections
    caps = protections.detect()
    monkeypatch.setattr(client, "detect", lambda: protections.Capabilities(
        bwrap=None, bwrap_error="disabled by the test", root=caps.root, seccomp_error=caps.seccomp_error,
        landlock_abi=caps.landlock_abi))
    with pytest.warns(protections.SandboxWarning, match="bubblewrap"):
        ev = evaluator(24 if fast else 25, fast)
    try:
        assert not ev._server.ready["pidns"]
        escape = ("import os, time\n" + HEAD + "    if position == 0 and os.fork() == 0:\n        os.setsid()\n"
                  "        time.sleep(30)\n    return value\n")
        for source, valid, escapes in ((HONEST, True, False), (CANDIDATES["runtime_error"], False, False),
                                       (escape, True, True), (HONEST, True, False)):
            result = ev.evaluate(source)
            assert result.valid is valid, result.message
            assert "fast" not in ev._server.last_header
            assert (ev._server.last_header["leftovers"] > 0) is escapes, ev._server.last_header  # one per instance
    finally:
        ev.close()
