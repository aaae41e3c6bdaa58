#!/usr/bin/env bash
# The test suite: builds and runs every test (unit, property, crash, fuzz-corpus replay), then
# the unit and property tests again under ASan+UBSan, and the concurrency tests under TSan.
#
# Usage: tools/test.sh [--quick]   (--quick: the debug build's tests only)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1

run_ctest() {  # preset, extra ctest args...
  local preset=$1
  shift
  (cd "build/$preset" && ctest --output-on-failure -j2 --timeout 900 "$@")
}

tools/setup.sh debug
cmake --build --preset debug --target loci-bench  # built on demand otherwise; keep it compiling
run_ctest debug
[ $quick -eq 1 ] && exit 0

tools/setup.sh asan
run_ctest asan -L 'unit|property'

tools/setup.sh tsan loci_tsan_tests
run_ctest tsan -L tsan
