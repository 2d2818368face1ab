#!/usr/bin/env bash
# The HTTP client against Debian's nginx, through a TAP device inside a
# network namespace this test creates and removes (DEVELOPERS.md, network
# safety).  nginx serves files the test writes; `portstack run --get`
# fetches three of them over one kept-alive connection and prints each
# body's FNV-1a checksum, which the test computes itself from the files.
# Usage: test_http_client_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root for network namespaces"; exit 77; fi
for tool in ip nginx /usr/bin/python3; do
  command -v $tool >/dev/null || { echo "FAIL: $tool missing (scripts/deps.sh test installs it)"; exit 1; }
done

ns="pstest-httpc-$$"
tmp=$(mktemp -d)
npid=""
cleanup() {
  [ -n "$npid" ] && kill "$npid" 2>/dev/null && wait "$npid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- portstack:"; cat "$tmp/run.log" 2>/dev/null; echo "--- nginx:"; tail -5 "$tmp/error.log" "$tmp/access.log" 2>/dev/null; exit 1; }

mkdir -p "$tmp/www"
chmod 755 "$tmp"  # nginx workers run as www-data
printf 'configuration page\n' >"$tmp/www/index.html"
head -c 200000 /dev/urandom >"$tmp/www/firmware.bin"
head -c 3000 /dev/urandom >"$tmp/www/small.bin"
cat >"$tmp/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 64; }
http {
  access_log $tmp/access.log;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  keepalive_timeout 30;
  server {
    listen 192.0.2.1:8080;
    root $tmp/www;
  }
}
CONF

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev pstap0 mode tap
ip netns exec "$ns" ip addr add 192.0.2.1/24 dev pstap0
ip netns exec "$ns" ip link set pstap0 up
ip netns exec "$ns" nginx -c "$tmp/nginx.conf" -p "$tmp" >"$tmp/nginx.out" 2>&1 &
npid=$!
sleep 0.5
kill -0 "$npid" 2>/dev/null || fail "nginx did not start: $(cat "$tmp/nginx.out")"

ip netns exec "$ns" timeout 60 "$bin" run --tap pstap0 --address 192.0.2.2/24 --seed 4 --duration 50 \
  --get http://192.0.2.1:8080/ --get http://192.0.2.1:8080/firmware.bin --get http://192.0.2.1:8080/small.bin \
  >"$tmp/run.log" 2>&1 || fail "portstack --get failed"

fnv() { /usr/bin/python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$1"; }
check() { # PATH FILE CONNECTION
  local sum size
  sum=$(fnv "$2"); size=$(stat -c %s "$2")
  grep -q "GET $1 -> 200, $size bytes, fnv1a64 $sum, $3 connection" "$tmp/run.log" || fail "GET $1: expected $size bytes, $sum, $3"
}
check / "$tmp/www/index.html" new
check /firmware.bin "$tmp/www/firmware.bin" reused
check /small.bin "$tmp/www/small.bin" reused
[ "$(grep -c 'HTTP/1.1" 200' "$tmp/access.log")" -eq 3 ] || fail "nginx did not log three 200s"
echo "PASS: three GETs from nginx over one kept-alive connection, byte-exact"
