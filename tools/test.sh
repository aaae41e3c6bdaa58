#!/usr/bin/env bash
# The test suite: builds and runs every test (unit, property, crash, fuzz-corpus replay), then
# the unit and property tests again under ASan+UBSan, the concurrency tests under TSan, and
# finally every libFuzzer target for a short run.
#
# Usage: tools/test.sh [--quick] [--long]
#   --quick  the debug build's tests only
#   --long   soaks: fuzz each target 600 s instead of $LOCI_FUZZ_SECONDS (default 30), 20,000
#            simulated crashes with faults instead of 200, 100 SIGKILLs in kill_test, a 60 s
#            stress run
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
long=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --long) long=1 ;;
    *) echo "usage: tools/test.sh [--quick] [--long]" >&2; exit 1 ;;
  esac
done

if [ $long -eq 1 ]; then
  export SIM_ITERATIONS=20000 LOCI_KILL_ROUNDS=100 LOCI_STRESS_SECONDS=60 LOCI_FUZZ_SECONDS=600
fi

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

# Fuzz: build only the libFuzzer binaries (clang-14, ASan+UBSan), then run each smoke test in
# turn (RESOURCE_LOCK fuzz_cpu): it replays the target's seeds and regressions, fuzzes for
# LOCI_FUZZ_SECONDS seconds and prints libFuzzer's final stats, summarised below per target.
tools/setup.sh fuzz loci_fuzzers
export LOCI_FUZZ_SECONDS=${LOCI_FUZZ_SECONDS:-30}
echo "fuzz: ${LOCI_FUZZ_SECONDS} s per target"
fuzz_status=0
run_ctest fuzz -L fuzz || fuzz_status=$?
# LastTest.log holds every test's full output: print, per target, libFuzzer's final stats
# (executions, exec/s, coverage, peak RSS) and what stopped it if it failed.
awk '/^[0-9]+\/[0-9]+ Testing: /{name=$3; cov=""; bug=""}
     /DONE +cov: /{match($0, /cov: [0-9]+ ft: [0-9]+/); cov=substr($0, RSTART, RLENGTH)}
     /^SUMMARY: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer)/{bug=$0}
     /^stat::number_of_executed_units:/{runs=$2}
     /^stat::average_exec_per_sec:/{eps=$2}
     /^stat::peak_rss_mb:/{printf "fuzz: %-28s %10s execs %7s exec/s  %-22s %5s MB  %s\n",
                           name, runs, eps, cov, $2, bug}' \
  build/fuzz/Testing/Temporary/LastTest.log
exit $fuzz_status
