"""The native fork server's C code under AddressSanitizer and UBSan: tests/native/engine_driver.c builds
funsearch/sandbox/native/{harden,io,engine}.c with -fsanitize=address,undefined (and -Wall -Wextra -Werror) and
drives fs_fork and fs_serve through every path server.py takes (clean candidates replied in C, stdout escaping,
non-ASCII output, a hang, forged records, an output flood, an early exit, a dirty tmp folder, an unknown key).
Any memory error, leak or undefined behaviour fails the run. In a fresh pid namespace (root) the last-pid proof
holds, so the C reply path runs too. About ten seconds."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "funsearch" / "sandbox" / "native"
DRIVER = ROOT / "tests" / "native" / "engine_driver.c"
SANITIZERS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
ENV = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1",
       "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87"}

pytestmark = pytest.mark.sanitizers


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    cc = shutil.which(os.environ.get("CC", "gcc"))
    if cc is None:
        pytest.skip("no C compiler")
    binary = tmp_path_factory.mktemp("asan") / "engine_driver"
    build = subprocess.run([cc, "-O1", "-g", *SANITIZERS, "-Wall", "-Wextra", "-Werror", f"-I{NATIVE}", "-o",
                            str(binary), str(DRIVER), *(str(NATIVE / f) for f in ("harden.c", "io.c", "engine.c"))],
                           capture_output=True, text=True, timeout=300)
    if build.returncode != 0 and ("cannot find -lasan" in build.stderr or "libasan" in build.stderr):
        pytest.skip("gcc has no AddressSanitizer runtime here")
    assert build.returncode == 0, build.stderr[-3000:]
    symbols = subprocess.run(["nm", str(binary)], capture_output=True, text=True).stdout
    assert "__asan_init" in symbols and "__ubsan_handle" in symbols  # the sanitizers are really in
    return binary


def run(argv: list[str]) -> dict[str, int]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=ENV)
    assert "Sanitizer" not in proc.stderr and "runtime error" not in proc.stderr, proc.stderr[-4000:]
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-4000:])
    return {k: int(v) for k, v in (item.split("=") for item in proc.stdout.split())}


def test_every_path_of_the_c_cycle_is_clean_without_the_proof(driver):
    # without the last-pid proof every candidate goes back to Python: supervision, flood, hang, forged records
    assert run([str(driver), "0", "0"]) == {"served": 0, "replies": 0, "supervised": 10, "requests": 1, "wipes": 0,
                                            "escaped": 0}


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare(1)")
@pytest.mark.parametrize("overlap", ["0", "1"])
def test_the_c_reply_path_is_clean_in_a_pid_namespace(driver, overlap):
    got = run(["unshare", "--pid", "--fork", "--mount-proc", str(driver), "1", overlap])
    # ok, stdout (escaped into the header), ok, tmpfile (then a wipe), ok: replied in C; the other five in Python
    assert got == {"served": 5, "replies": 5, "supervised": 5, "requests": 1, "wipes": 1, "escaped": 1}
