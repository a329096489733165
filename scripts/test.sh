#!/usr/bin/env bash
# Install everything (scripts/setup.sh) and run the whole test suite. CI runs exactly this (.ci/run).
set -uo pipefail
cd "$(dirname "$0")/.."
export FUNSEARCH_SETUP_MODELS="${FUNSEARCH_SETUP_MODELS:-small tiny}"  # the tests use both
bash scripts/setup.sh || exit $?
python3 -m ruff check funsearch tests benchmarks problems || exit $?
python3 -m pytest -q "$@"
rc=$?
if [ "$rc" = 5 ]; then echo "test.sh: pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
