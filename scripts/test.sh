#!/usr/bin/env bash
# Build and run the whole test suite:
#   1. gcc, optimised build: unit, simulation and interop tests (ctest)
#   2. clang, AddressSanitizer + UndefinedBehaviorSanitizer: the same tests
#   3. clang, libFuzzer: the frame fuzzer for a fixed time (FUZZ_SECONDS)
# The interop tests need root (network namespaces, TAP); they skip without.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-60}
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

echo "== libFuzzer: fuzz_frames for ${fuzz_seconds}s"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DPS_SANITIZE=ON -DPS_FUZZ=ON \
  -DPS_TESTS=OFF -DPS_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_frames
corpus=build-fuzz/corpus
rm -rf "$corpus" build-fuzz/crashes && mkdir -p "$corpus" build-fuzz/crashes
./build-test/portstack demo --pcap build-fuzz/demo.pcap >/dev/null
/usr/bin/python3 fuzz/pcap2seed.py "$corpus" build-fuzz/demo.pcap
cp fuzz/corpus/* "$corpus"/
cp fuzz/regressions/* "$corpus"/ 2>/dev/null || true
if ! ./build-fuzz/fuzz_frames -max_total_time="$fuzz_seconds" -max_len=8192 -timeout=10 \
     -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1 "$corpus" 2>build-fuzz/fuzz.log; then
  tail -40 build-fuzz/fuzz.log
  echo "fuzzer found a crash: add it to fuzz/regressions/ once fixed:"
  ls build-fuzz/crashes/
  status=1
else
  grep -E "stat::number_of_executed_units|cov:" build-fuzz/fuzz.log | tail -2
fi

if [ $status -eq 0 ]; then echo "ALL TEST STAGES PASSED"; else echo "SOME TEST STAGE FAILED"; fi
exit $status
