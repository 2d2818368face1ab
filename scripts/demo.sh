#!/usr/bin/env bash
# Install the build tools, build portstack, and run the main demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPS_TESTS=OFF -DPS_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target portstack_cli >/dev/null
exec ./build/portstack demo "$@"
