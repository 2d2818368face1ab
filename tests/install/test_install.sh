#!/usr/bin/env bash
# Install the library into a scratch prefix and build a program against it
# twice: through pkg-config and through CMake's find_package.
# Usage: test_install.sh BUILD_DIR   (env CC, PS_CONSUMER_FLAGS: how the
# library was compiled, e.g. with sanitizers)
set -euo pipefail
build=$(readlink -f "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cat >"$tmp/hello.c" <<'C'
#include <portstack/portstack.h>
#include <portstack/sim.h>
#include <stdio.h>
int main(void)
{
    struct ps_stack *s = ps_stack_new(NULL, 0);
    struct ps_sim *sim = ps_sim_new(1, 0);
    if (!s || !sim)
        return 1;
    printf("%s %u\n", ps_stack_name(s), ps_iface_count(s));
    ps_sim_free(sim);
    ps_stack_free(s);
    return 0;
}
C
if command -v pkg-config >/dev/null; then
  export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
  ${CC:-cc} -std=c11 -Wall -Werror ${PS_CONSUMER_FLAGS:-} "$tmp/hello.c" $(pkg-config --cflags --libs portstack) -o "$tmp/hello-pc"
  [ "$("$tmp/hello-pc")" = "stack 1" ] || fail "pkg-config build gives the wrong answer"
else
  echo "pkg-config missing: only the CMake consumer is checked"
fi
mkdir -p "$tmp/consumer"
cp "$tmp/hello.c" "$tmp/consumer/"
cat >"$tmp/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(portstack REQUIRED)
add_executable(hello hello.c)
target_link_libraries(hello PRIVATE portstack::portstack_drivers)
CM
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_COMPILER="${CC:-cc}" -DCMAKE_C_FLAGS="${PS_CONSUMER_FLAGS:-}" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
[ "$("$tmp/consumer/build/hello")" = "stack 1" ] || fail "CMake build gives the wrong answer"
echo "PASS: installed library usable through pkg-config and find_package"
