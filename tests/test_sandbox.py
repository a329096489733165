"""Sandbox parts: strict wire format, outcome mapping, limits, Landlock/seccomp in a real child,
protections report, fork-server death and restart, harness death taking everything with it."""
from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from funsearch.problem.evaluator import Evaluator
from funsearch.records import FailureKind
from funsearch.sandbox import landlock, seccomp
from funsearch.sandbox.child import END_LINE
from funsearch.sandbox.limits import SandboxLimits
from funsearch.sandbox.outcome import interpret
from funsearch.sandbox.protections import describe_protections
from funsearch.sandbox.wire import WireError, decode_strict, encode_solution

from sandbox_helpers import HONEST, MARKER, TESTS, processes_matching, toy

LIMITS = SandboxLimits(wall_seconds=1.5)


# --- wire --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "[1,", "1" * 5000, "[" * 100000 + "]" * 100000])
def test_strict_decode_rejects_non_finite_broken_and_hostile_json(text):
    with pytest.raises(WireError):
        decode_strict(text)


def test_strict_decode_enforces_the_size_cap():
    assert decode_strict("[1, 2]", max_bytes=6) == [1, 2]
    with pytest.raises(WireError, match="exceeds the cap"):
        decode_strict("[1, 2, 3]", max_bytes=6)


def test_encode_turns_numpy_into_plain_json_and_refuses_objects():
    import numpy as np
    assert json.loads(encode_solution({"a": np.arange(3), "b": np.float64(1.5)})) == {"a": [0, 1, 2], "b": 1.5}
    with pytest.raises(ValueError):
        encode_solution([float("nan")])
    with pytest.raises(TypeError):
        encode_solution([object()])


@pytest.mark.parametrize("value", [[0, 1, 2], {"a": [1.5, -2], "b": None, "c": True}, "caf\u00e9", 3.25,
                                   {1: 2}, [[1, [2, [3.0e300]]]], []])
def test_the_shared_encoder_writes_what_json_dumps_writes(value):
    from funsearch.sandbox.wire import _plain
    assert encode_solution(value) == json.dumps(value, allow_nan=False, default=_plain, separators=(",", ":"))


def test_the_shared_encoder_is_clean_after_a_failure():
    loop = []
    loop.append(loop)
    doc = {"x": loop}
    with pytest.raises(ValueError, match="Circular reference"):
        encode_solution(doc)
    doc["x"] = [1]  # the same containers, now without the cycle: no stale marker may remain for them
    assert encode_solution(doc) == '{"x":[1]}'
    assert encode_solution([doc, doc]) == '[{"x":[1]},{"x":[1]}]'  # shared, not circular


# --- outcome mapping ---------------------------------------------------------------------------
def _interp(results: bytes, n=2, exit_code=0, timed_out=False, overflow=False, cpu=0.0):
    return interpret(results, n, exit_code, timed_out, overflow, cpu, "", LIMITS)


def test_interpret_accepts_ordered_records_and_the_end_line():
    out = _interp(b'{"i":0,"t":0.1,"s":[1]}\n{"i":1,"t":0.2,"s":[2]}\n' + END_LINE)
    assert [o.solution for o in out] == [[1], [2]] and all(o.failure is None for o in out)


@pytest.mark.parametrize("results,exit_code,timed_out,kind", [
    (b'{"i":1,"t":0,"s":[1]}\n', 0, False, FailureKind.BAD_OUTPUT),            # out of order
    (b'{"i":0,"t":0,"s":NaN}\n', 0, False, FailureKind.BAD_OUTPUT),            # forged non-finite
    (b'{"i":0,"t":0,"s":[1', 0, False, FailureKind.BAD_OUTPUT),                # truncated, clean exit
    (b'{"i":0,"t":0,"s":[1]}\n' + END_LINE, 0, False, FailureKind.BAD_OUTPUT),  # ended early
    (b'{"i":0,"t":0,"err":"memory_error","msg":"x"}\n', 0, False, FailureKind.MEMORY),
    (b'{"i":0,"t":0,"err":"made_up","msg":"x"}\n', 0, False, FailureKind.BAD_OUTPUT),
    (b"", 0, False, FailureKind.RUNTIME_ERROR),
    (b"", -signal.SIGSEGV, False, FailureKind.CRASH),
    (b"", -signal.SIGXCPU, False, FailureKind.TIMEOUT),
    (b'{"i":0,"t":0,"s":[1', -signal.SIGKILL, True, FailureKind.TIMEOUT),
])
def test_interpret_maps_every_ending_to_its_failure_class(results, exit_code, timed_out, kind):
    out = _interp(results, exit_code=exit_code, timed_out=timed_out)
    assert len(out) == 2 and out[-1].failure is kind
    assert all(len(o.message) <= 300 for o in out)


def test_instances_after_the_failed_one_name_it_one_based():
    # the first instance fails in its own record: the later ones name instance 1 (of 3), not instance 2
    out = _interp(b'{"i":0,"t":0,"err":"runtime_error","msg":"ValueError: boom"}\n', n=3)
    assert [o.message for o in out] == ["ValueError: boom", "not run: instance 1 of 3 failed first",
                                        "not run: instance 1 of 3 failed first"]
    assert all(o.failure is FailureKind.RUNTIME_ERROR for o in out)
    # the second one is cut off at the deadline: it carries the reason, the third names it
    out = _interp(b'{"i":0,"t":0,"s":[1]}\n', n=3, exit_code=-signal.SIGKILL, timed_out=True)
    assert out[0].failure is None and out[1].failure is FailureKind.TIMEOUT and "wall time" in out[1].message
    assert out[2].message == "not run: instance 2 of 3 failed first"


def test_interpret_flags_overflow():
    assert _interp(b"", overflow=True)[0].failure is FailureKind.OUTPUT_TOO_LARGE


def test_limits_validate_and_default_cpu_to_wall():
    assert SandboxLimits(wall_seconds=3).cpu_seconds == 3
    with pytest.raises(ValueError, match="memory_mb"):
        SandboxLimits(memory_mb=0)


# --- kernel layers in a real child -------------------------------------------------------------
def _in_child(fn) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            code = fn()
        except BaseException:
            code = 99
        os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.skipif(landlock.abi_version() < 1, reason="kernel has no Landlock")
def test_landlock_allows_writes_only_in_its_folder(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    fd = landlock.build_ruleset(str(inside))

    def attempt():
        import ctypes
        ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)
        landlock.restrict_self(fd)
        (inside / "ok").write_text("x")
        try:
            (outside / "no").write_text("x")
        except PermissionError:
            return 7
        return 1
    assert _in_child(attempt) == 7
    assert (inside / "ok").exists() and not (outside / "no").exists()


def test_seccomp_denies_inet_sockets_and_exec_but_not_unix_sockets():
    program = seccomp.Program(seccomp.compile_filter())

    def attempt():
        import ctypes
        ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)
        program.load()
        socket.socket(socket.AF_UNIX).close()
        try:
            socket.socket(socket.AF_INET)
            return 1
        except OSError as exc:
            if exc.errno != errno.EPERM:
                return 2
        try:
            os.execv("/bin/true", ["true"])
        except PermissionError:
            return 7
        return 3
    assert _in_child(attempt) == 7


def test_describe_protections_gives_one_line_each():
    protections = describe_protections()
    names = [p.name for p in protections]
    assert {"bubblewrap", "seccomp", "landlock", "uid-switch", "rlimits"} <= set(names)
    assert all("\n" not in p.line() and p.line().startswith(("on ", "off")) for p in protections)


def test_funsearch_sandbox_command_prints_each_protection():
    proc = subprocess.run([sys.executable, "-m", "funsearch", "sandbox", "--json"], capture_output=True,
                          text=True, timeout=120, cwd=TESTS.parent)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["name"] for r in rows} >= {"bubblewrap", "seccomp", "landlock"}
    assert all(isinstance(r["on"], bool) and r["reason"] for r in rows)


# --- fork-server lifecycle ---------------------------------------------------------------------
def test_evaluator_restarts_a_fork_server_that_died_mid_evaluation():
    problem = toy()
    with Evaluator(problem, LIMITS, slot=11) as ev:
        box = {}
        loop = "def priority(value: float, position: int) -> float:\n    while True:\n        pass\n"
        worker = threading.Thread(target=lambda: box.setdefault("r", ev.evaluate(loop)))
        worker.start()
        time.sleep(0.5)
        os.kill(ev._server.proc.pid, signal.SIGKILL)  # the server (bwrap) dies under the candidate
        worker.join(10)
        assert box["r"].failure is FailureKind.CRASH and "fork server died" in box["r"].message
        after = ev.evaluate(HONEST)
        assert after.valid and after.score == 1.0 and ev.restarts == 1


def test_children_start_from_the_fixed_random_state_and_run_the_problems_fork_hooks(tmp_path):
    # spares are forked with libc fork() (no Python after-fork work): the server runs the at-fork hooks that the
    # problem's imports registered, and every instance starts from the same random state (scores reproduce)
    from funsearch.problem.loader import load_problem
    path = tmp_path / "toy_hooked.py"
    path.write_text((TESTS / "fixtures" / "toy_problem.py").read_text()
                    + "\nimport os as _os\n_FORKED = []\n_os.register_at_fork(after_in_child=lambda: _FORKED.append(1))\n")
    source = ("import random\ndef priority(value: float, position: int) -> float:\n"
              "    raise ValueError(f'r={random.random()} forked={len(_FORKED)}')\n")
    with Evaluator(load_problem(path), LIMITS, slot=13) as ev:
        messages = [ev.evaluate(source).message for _ in range(3)]
    assert all("forked=1" in m for m in messages), messages
    assert len({m.split("r=")[1].split()[0] for m in messages}) == 1, messages


RANDOM_PRIORITY = ("import random\nimport numpy as np\n"
                   "def priority(value: float, position: int) -> float:\n"
                   "    return float(np.random.rand()) + random.random()\n")


def test_a_candidate_that_draws_random_numbers_scores_the_same_everywhere():
    # each instance starts from the same state: two servers, the reference in this process, and an instance run
    # alone or after another all agree, so a lucky draw cannot be selected and replay reproduces a run
    import random

    from funsearch.problem.evaluator import evaluate_in_process

    problem = toy()
    instances = problem.load_split("large")
    with Evaluator(problem, LIMITS, slot=14) as one, Evaluator(problem, LIMITS, slot=15) as two:
        first, second = one.evaluate(RANDOM_PRIORITY, instances=instances), two.evaluate(RANDOM_PRIORITY, instances=instances)
        alone = one.evaluate(RANDOM_PRIORITY, instances=instances[1:])
    assert first.valid and second.valid and alone.valid
    scores = [o.score for o in first.per_instance]
    assert [o.score for o in second.per_instance] == scores and [o.score for o in alone.per_instance] == scores[1:]
    state = random.getstate()
    assert [o.score for o in evaluate_in_process(problem, RANDOM_PRIORITY, instances=instances).per_instance] == scores
    assert random.getstate() == state  # the reference puts this process's random state back
    honest = [o.score for o in evaluate_in_process(problem, HONEST, instances=instances).per_instance]
    assert scores != honest  # the draws do change the order: the test could tell a fixed state from none


def test_closing_the_evaluator_stops_its_server():
    ev = Evaluator(toy(), LIMITS, slot=12)
    proc = ev._server.proc
    ev.close()
    assert proc.poll() is not None


def test_a_dying_harness_takes_the_server_and_candidates_with_it(tmp_path):
    candidate = tmp_path / "candidate.py"
    candidate.write_text(
        "import ctypes, os, time\n"
        "def priority(value: float, position: int) -> float:\n"
        f"    ctypes.CDLL(None).prctl(15, b'{MARKER}', 0, 0, 0)\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "    while True:\n"
        "        time.sleep(0.05)\n")
    script = tmp_path / "harness.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
        "from sandbox_helpers import toy\n"
        "from funsearch.problem.evaluator import Evaluator\n"
        "from funsearch.sandbox.limits import SandboxLimits\n"
        "ev = Evaluator(toy(), SandboxLimits(wall_seconds=60), slot=13)\n"
        "print('ready', flush=True)\n"
        f"ev.evaluate(open({str(candidate)!r}).read())\n")
    harness = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert harness.stdout.readline().strip() == "ready"
    give_up = time.monotonic() + 20
    while not processes_matching(MARKER) and time.monotonic() < give_up:
        time.sleep(0.05)
    assert processes_matching(MARKER), "the candidate never started"
    harness.kill()
    harness.wait()
    give_up = time.monotonic() + 5
    while processes_matching(MARKER) and time.monotonic() < give_up:
        time.sleep(0.05)
    assert processes_matching(MARKER) == []
