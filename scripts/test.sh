#!/usr/bin/env bash
# Build and run the whole test suite:
#   1. gcc, optimised build: unit, simulation and interop tests (ctest)
#   2. clang, AddressSanitizer + UndefinedBehaviorSanitizer: the same tests
#   3. clang, libFuzzer with ASan + UBSan: every fuzz target (fuzz/) for
#      FUZZ_SECONDS each, from seeds made of the demo's and fuzz_sessions'
#      captures plus the committed corpora and regression inputs
# The interop tests need root (network namespaces, TAP); they skip without.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-12} # per target: about two minutes in all
status=0

echo "== gcc build, tests"
cmake -S . -B build-test -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-test -j"$jobs"
(cd build-test && ctest --output-on-failure -j"$jobs") || status=1

echo "== clang build with ASan + UBSan, tests"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DPS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs") || status=1

fuzz_targets="frames listen tcp_state wire dhcp dns http_request http_response"
echo "== libFuzzer: each target for ${fuzz_seconds}s: $fuzz_targets"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DPS_SANITIZE=ON -DPS_FUZZ=ON \
  -DPS_TESTS=OFF -DPS_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target $(printf 'fuzz_%s ' $fuzz_targets)
rm -rf build-fuzz/corpus build-fuzz/crashes build-fuzz/pcaps && mkdir -p build-fuzz/crashes build-fuzz/pcaps
./build-test/portstack demo --pcap build-fuzz/pcaps/demo.pcap >/dev/null
./build-test/fuzz_sessions build-fuzz/pcaps
fuzz_total=0
for t in $fuzz_targets; do
  corpus=build-fuzz/corpus/$t
  /usr/bin/python3 fuzz/pcap2seed.py "$t" "$corpus" build-fuzz/pcaps/*.pcap
  cp fuzz/corpus/"$t"/* fuzz/regressions/"$t"/* "$corpus"/ 2>/dev/null || true
  if ./build-fuzz/fuzz_"$t" -max_total_time="$fuzz_seconds" -max_len=8192 -timeout=20 \
       -artifact_prefix=build-fuzz/crashes/"$t"- -print_final_stats=1 "$corpus" 2>build-fuzz/"$t".log; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' build-fuzz/"$t".log)
    fuzz_total=$((fuzz_total + execs))
    printf '  %-14s %9s executions  %s\n' "$t" "$execs" "$(grep -o 'cov: [0-9]* ft: [0-9]*' build-fuzz/"$t".log | tail -1)"
  else
    tail -40 build-fuzz/"$t".log
    echo "fuzz_$t found a crash: fix it, then add it to fuzz/regressions/$t/:"
    ls build-fuzz/crashes/
    status=1
  fi
done
echo "  all targets: $fuzz_total executions"

if [ $status -eq 0 ]; then echo "ALL TEST STAGES PASSED"; else echo "SOME TEST STAGE FAILED"; fi
exit $status
