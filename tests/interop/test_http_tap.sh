#!/usr/bin/env bash
# The HTTP server against curl and wrk on the Linux kernel's side of a TAP
# device, inside a network namespace this test creates and removes
# (DEVELOPERS.md, network safety).
#  - curl fetches a static file byte-exact, the JSON status page (parsed by
#    Python: it lists curl's own connection by its quadruple), and gets 404;
#  - curl reuses one connection for several requests (keep-alive);
#  - wrk loads the server for 5 s with 16 connections: no socket errors,
#    every response a 200;
#  - the counters at exit match what was asked.
# Usage: test_http_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip curl wrk /usr/bin/python3

ns_setup pstest-http
pid=""
ns_kill_at_exit pid
fail_details() { echo "--- portstack:"; tail -40 "$tmp/run.log"; }

mkdir -p "$tmp/www/img"
printf '<h1>camera</h1>\n' >"$tmp/www/index.html"
head -c 300000 /dev/urandom >"$tmp/www/img/frame.bin"

ns_tap 192.0.2.1/24
ip netns exec "$ns" "$bin" run --tap pstap0 --address 192.0.2.2/24 --serve http:8000 --docroot "$tmp/www" \
  --duration 120 --seed 21 >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q "serving http on tcp port 8000" "$tmp/run.log" && break; sleep 0.1; done

in_ns curl -sS --max-time 10 -o "$tmp/frame.bin" http://192.0.2.2:8000/img/frame.bin || fail "curl could not fetch a file"
cmp -s "$tmp/frame.bin" "$tmp/www/img/frame.bin" || fail "the 300 KB file came back different"
[ "$(in_ns curl -sS --max-time 5 http://192.0.2.2:8000/)" = "<h1>camera</h1>" ] || fail "index.html"
code=$(in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://192.0.2.2:8000/missing)
[ "$code" = 404 ] || fail "a missing file gave $code"
# Several requests on one connection: curl says it reused it.
in_ns curl -sv --max-time 10 http://192.0.2.2:8000/ http://192.0.2.2:8000/ http://192.0.2.2:8000/ \
  >/dev/null 2>"$tmp/curl-v.txt" || fail "curl keep-alive run failed"
grep -q "Re-using existing connection" "$tmp/curl-v.txt" || fail "curl did not reuse the connection"
# The JSON status page lists the very connection that fetched it.
in_ns /usr/bin/python3 - <<'PY' || fail "the JSON status page is wrong"
import json, socket, sys
s = socket.create_connection(("192.0.2.2", 8000), timeout=5)
port = s.getsockname()[1]
s.sendall(b"GET /status.json HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, body = data.split(b"\r\n\r\n", 1)
doc = json.loads(body)
mine = [x for x in doc["sockets"] if x["peer"] == "192.0.2.1:%d" % port and x["local"] == "192.0.2.2:8000"]
assert mine and mine[0]["state"] == "ESTAB" and mine[0]["proto"] == "tcp", doc["sockets"]
assert any(x["state"] == "LISTEN" and x["local"] == "0.0.0.0:8000" for x in doc["sockets"])
assert doc["counters"]["tcp_rx"] > 0
print("status.json: %d sockets, ours is %s" % (len(doc["sockets"]), mine[0]))
PY
# Load: wrk, bounded to 5 s and 16 connections (the server holds 32).
in_ns wrk -t2 -c16 -d5s --timeout 5s http://192.0.2.2:8000/ >"$tmp/wrk.txt" 2>&1 || fail "wrk failed: $(cat "$tmp/wrk.txt")"
grep -q "Socket errors" "$tmp/wrk.txt" && fail "wrk saw socket errors: $(cat "$tmp/wrk.txt")"
grep -q "Non-2xx" "$tmp/wrk.txt" && fail "wrk saw non-2xx answers: $(cat "$tmp/wrk.txt")"
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/wrk.txt")
[ "${reqs:-0}" -gt 100 ] || fail "wrk completed only ${reqs:-0} requests"
rate=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk.txt")

kill -INT "$pid"
wait "$pid" || fail "portstack exited with an error"
pid=""
grep -q "portstack: http:" "$tmp/run.log" || fail "no http summary"
echo "PASS: curl file/keep-alive/404/JSON; wrk $reqs requests (${rate}/s), no errors"
