#!/usr/bin/env bash
# The HTTP client against Debian's nginx, through a TAP device inside a
# network namespace this test creates and removes (DEVELOPERS.md, network
# safety).  nginx serves files the test writes; `portstack run --get`
# fetches three of them over one kept-alive connection and prints each
# body's FNV-1a checksum, which the test computes itself from the files.
# Between them, `--post URL --data @FILE|STRING` uploads bodies through
# nginx (a reverse proxy) to a small Python handler in the namespace that
# answers with the SHA-256 and length of the bytes it received: the
# checksum portstack prints of that answer matches only if every byte
# arrived as sent.
# Usage: test_http_client_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip nginx /usr/bin/python3

ns_setup pstest-httpc
npid="" ppid_=""
ns_kill_at_exit npid ppid_
fail_details() {
  echo "--- portstack:"; cat "$tmp/run.log" 2>/dev/null
  echo "--- nginx:"; tail -5 "$tmp/error.log" "$tmp/access.log" 2>/dev/null
  echo "--- upload handler:"; tail -5 "$tmp/upload.log" 2>/dev/null
}

mkdir -p "$tmp/www"
chmod 755 "$tmp"  # nginx workers run as www-data
printf 'configuration page\n' >"$tmp/www/index.html"
head -c 200000 /dev/urandom >"$tmp/www/firmware.bin"
head -c 3000 /dev/urandom >"$tmp/www/small.bin"
head -c 100000 /dev/urandom >"$tmp/upload.bin"
# The upload handler: SHA-256 and length of the body it read.
cat >"$tmp/upload.py" <<'PY'
import hashlib, http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        out = ("sha256 %s length %d\n" % (hashlib.sha256(body).hexdigest(), len(body))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
http.server.HTTPServer(("127.0.0.1", 8081), H).serve_forever()
PY
ns_nginx_conf >"$tmp/nginx.conf" <<SERVER
    listen 192.0.2.1:8080;
    root $tmp/www;
    location /upload {
      client_max_body_size 8m;
      proxy_pass http://127.0.0.1:8081;
    }
SERVER

ns_tap 192.0.2.1/24
ip netns exec "$ns" nginx -c "$tmp/nginx.conf" -p "$tmp" >"$tmp/nginx.out" 2>&1 &
npid=$!
ip netns exec "$ns" /usr/bin/python3 "$tmp/upload.py" >"$tmp/upload.log" 2>&1 &
ppid_=$!
# Both must listen before the first request (python can take a while).
listening() { ip netns exec "$ns" ss -Hltn "sport = :$1" | grep -q .; }
for _ in $(seq 1 100); do listening 8080 && listening 8081 && break; sleep 0.1; done
listening 8080 || fail "nginx did not start: $(cat "$tmp/nginx.out")"
listening 8081 || fail "the upload handler did not start: $(cat "$tmp/upload.log")"

u=http://192.0.2.1:8080
ip netns exec "$ns" timeout 60 "$bin" run --tap pstap0 --address 192.0.2.2/24 --seed 4 --duration 50 \
  --get $u/ --post $u/upload --data @"$tmp/upload.bin" --get $u/firmware.bin \
  --post $u/upload/text --data 'hello, portstack' --get $u/small.bin \
  >"$tmp/run.log" 2>&1 || fail "portstack --get/--post failed"

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
# What the handler must have answered, had it received the bytes as sent.
check_post() { # PATH BODYFILE
  local size want
  size=$(stat -c %s "$2")
  printf 'sha256 %s length %d\n' "$(sha256sum "$2" | cut -d' ' -f1)" "$size" >"$tmp/want"
  want=$(fnv "$tmp/want")
  grep -q "POST $1 ($size bytes) -> 200, $(stat -c %s "$tmp/want") bytes, fnv1a64 $want, reused connection" "$tmp/run.log" ||
    fail "POST $1: expected the handler's digest of $size bytes ($want)"
}
check_post /upload "$tmp/upload.bin"
printf 'hello, portstack' >"$tmp/text.bin"
check_post /upload/text "$tmp/text.bin"
[ "$(grep -c '"GET [^"]*HTTP/1.1" 200' "$tmp/access.log")" -eq 3 ] || fail "nginx did not log three GETs with 200"
[ "$(grep -c '"POST /upload[^"]*HTTP/1.1" 200' "$tmp/access.log")" -eq 2 ] || fail "nginx did not log two POSTs with 200"
echo "PASS: three GETs and two POSTs (checked by the server's SHA-256) over one kept-alive connection to nginx"
