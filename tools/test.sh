#!/usr/bin/env bash
# The test suite: builds and runs every test (unit, property, crash, fuzz-corpus replay), the
# power-loss simulator's tests once more on fresh seeds, then builds the library and tools with
# clang's thread-safety analysis as errors, runs the unit and property tests again under
# ASan+UBSan, the concurrency tests under TSan, and finally every libFuzzer target for a short
# run.
#
# Usage: tools/test.sh [--quick] [--long]
#   --quick  the debug build's tests only (fresh simulator seeds included)
#   --long   soaks: fuzz each target 600 s instead of $LOCI_FUZZ_SECONDS (default 30), 20,000
#            simulated crashes with faults instead of 200, 40 fresh simulator seeds instead of 2,
#            100 SIGKILLs in kill_test, a 60 s stress run
# LOCI_SIM_FRESH_SEEDS sets the number of fresh simulator seeds (0: none).
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

fresh_seeds=${LOCI_SIM_FRESH_SEEDS:-2}
if [ $long -eq 1 ]; then
  export SIM_ITERATIONS=20000 LOCI_KILL_ROUNDS=100 LOCI_STRESS_SECONDS=60 LOCI_FUZZ_SECONDS=600
  fresh_seeds=${LOCI_SIM_FRESH_SEEDS:-40}
fi

run_ctest() {  # preset, extra ctest args...
  local preset=$1
  shift
  (cd "build/$preset" && ctest --output-on-failure -j2 --timeout 900 "$@")
}

# The simulator's tests (sweep, fault soak, bit flips...) ran on their fixed seeds in ctest; this
# runs them all again, in one process, on `fresh_seeds` seeds drawn now (SIM_EXPLORE), 200 soak
# iterations per seed. Each seed is printed before it runs, so any failure, crash or hang names
# it, and SIM_SEED=<seed> reruns it. Cost on 2 cores: 2 fresh seeds took 24 s in a --quick run,
# one took 21-25 s (15 s of CPU) while other builds loaded the machine.
sim_summary="sim: fixed seeds only"
explore_sim() {
  [ "$fresh_seeds" -gt 0 ] || return 0
  local log=build/debug/sim-explore.log status=0
  echo "sim: the power-loss simulator's tests on $fresh_seeds fresh seeds (log: $log)"
  SIM_EXPLORE=$fresh_seeds SIM_ITERATIONS=200 timeout $((600 + 120 * fresh_seeds)) \
    build/debug/tests/crash/sim_crash_test --gtest_brief=1 2>&1 | tee "$log" || status=$?
  local seeds
  seeds=$(sed -n 's/^sim seed: PowerLossAtEveryOperationOfTheWorkload \([0-9]*\) .*/\1/p' "$log" |
    tr '\n' ' ')
  sim_summary="sim: fixed seeds (ctest) and fresh seeds ${seeds:-(none started)}(SIM_SEED=<seed> reruns one)"
  echo "$sim_summary"
  return $status
}

tools/setup.sh debug
cmake --build --preset debug --target loci-bench  # built on demand otherwise; keep it compiling
run_ctest debug
explore_sim
[ $quick -eq 1 ] && exit 0

# clang-14 -Wthread-safety -Werror (with -Wall -Wextra -Wshadow): the lock annotations
# (GUARDED_BY, REQUIRES...) are checked only by clang. Library and tools only, no tests: a
# compile check: 1 min 55 s on 2 cores from nothing, 11 s when ccache has it.
tools/setup.sh clang-tsa

tools/setup.sh asan
run_ctest asan -L 'unit|property'

tools/setup.sh tsan loci_tsan_tests
run_ctest tsan -L tsan

# Fuzz: build only the libFuzzer binaries (clang-14, ASan+UBSan), then run the smoke tests two
# at a time, one per core (two RESOURCE_LOCKs): each replays the target's seeds and regressions, fuzzes for
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
echo "$sim_summary"
exit $fuzz_status
