#!/usr/bin/env bash
# TLS against OpenSSL, curl and nginx on the Linux kernel's side of a TAP
# device, inside a network namespace this test creates and removes
# (DEVELOPERS.md, network safety).  The test makes its own CA and
# certificates with openssl (and an unrelated CA as the wrong one).
#  - portstack's HTTPS server (`--serve https --cert --key`): curl --cacert
#    fetches a file byte-exact and reuses its connection; openssl s_client
#    verifies the certificate and the name; curl with the wrong CA refuses
#    (exit 60) and the server counts the failed handshake;
#  - portstack's HTTPS client (`--get https://... --cacert`): a file from
#    `openssl s_server -WWW` byte-exact, three from nginx (ssl) over one
#    kept-alive TLS connection; the wrong CA and the wrong name fail cleanly
#    with the reason.
# Usage: test_tls_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root, or no TLS)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
# A build without TLS refuses https among its arguments (before any device is
# touched; unshare -n all the same).
said=$(unshare -n "$bin" run --tap pstap0 --address 192.0.2.2/24 --serve https 2>&1 || true)
if [[ $said == *"built without"* ]]; then
  echo "SKIP: portstack built without TLS (PS_TLS=OFF)"; exit 77
fi
ns_need_tools ip openssl curl nginx /usr/bin/python3

ns_setup pstest-tls
pid="" spid="" npid=""
ns_kill_at_exit pid spid npid
stop() { # PID: end it and wait (it is ours)
  [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true
}
fail_details() { for f in run.log get.log s_server.log error.log; do
  [ -s "$tmp/$f" ] && { echo "--- $f:"; tail -25 "$tmp/$f"; }; done; }

# ---- certificates: a CA, portstack's (EC) and the peers' (RSA), a wrong CA ----
cd "$tmp"
ossl() { openssl "$@" 2>>"$tmp/openssl.log" >/dev/null || fail "openssl $1 failed: $(tail -3 "$tmp/openssl.log")"; }
ca() { # NAME CN
  ossl ecparam -name prime256v1 -genkey -noout -out "$1.key"
  ossl req -x509 -new -key "$1.key" -sha256 -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt"
}
leaf() { # NAME DNSNAME KEYARGS...
  local name=$1 dns=$2
  shift 2
  ossl genpkey "$@" -out "$name.key"
  ossl req -new -key "$name.key" -subj "/CN=$dns" -out "$name.csr"
  printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$dns" >"$name.ext"
  ossl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -set_serial "$RANDOM" -sha256 -days 1 \
    -extfile "$name.ext" -out "$name.crt"
}
ca ca "portstack interop CA"
ca wrong "some other CA"
leaf portstack portstack.example -algorithm EC -pkeyopt ec_paramgen_curve:P-256
leaf peer peer.example -algorithm RSA -pkeyopt rsa_keygen_bits:2048
mkdir -p www
chmod 755 "$tmp" www # nginx workers run as www-data
head -c 300000 /dev/urandom >www/blob.bin
head -c 20000 /dev/urandom >www/small.bin
printf 'configuration page\n' >www/index.html
chmod 644 www/* peer.key

ns_tap 192.0.2.1/24

fnv() { /usr/bin/python3 -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print("%016x" % h)' "$1"; }
counter() { # LOG NAME: a counter's value in portstack's exit report (0 if absent)
  local v
  v=$(sed -n "s/^ *$2 *\([0-9]*\) .*/\1/p" "$1" | tail -1)
  echo "${v:-0}"
}

# ---- portstack's HTTPS server ------------------------------------------------
# (Background jobs are started with ip netns exec itself, which becomes the
# program, so that their $! is the program's to signal.)
ip netns exec "$ns" "$bin" run --tap pstap0 --address 192.0.2.2/24 --serve https,http:8000 --cert portstack.crt \
  --key portstack.key --docroot www --duration 100 >run.log 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q "serving https on tcp port 443" run.log && break; sleep 0.1; done
grep -q "serving https on tcp port 443" run.log || fail "portstack did not start its https service"
url=https://portstack.example
resolve=(--resolve portstack.example:443:192.0.2.2)

in_ns curl -sS --max-time 20 --cacert ca.crt "${resolve[@]}" -o blob.got "$url/blob.bin" \
  || fail "curl --cacert could not fetch over TLS"
cmp -s blob.got www/blob.bin || fail "the 300 KB file came back different over TLS"
in_ns curl -sv --max-time 20 --cacert ca.crt "${resolve[@]}" "$url/small.bin" -o small.1 "$url/small.bin" -o small.2 \
  2>curl-v.txt || fail "curl keep-alive over TLS failed"
grep -q "Re-using existing connection" curl-v.txt || fail "curl did not reuse the TLS connection"
grep -q "SSL certificate verify ok" curl-v.txt || fail "curl did not report a verified certificate"
cmp -s small.1 www/small.bin && cmp -s small.2 www/small.bin || fail "the kept-alive fetches differ"
# The same server on plain http, side by side.
cmp -s <(in_ns curl -sS --max-time 10 http://192.0.2.2:8000/small.bin) www/small.bin || fail "plain http next to https"

printf 'GET /index.html HTTP/1.1\r\nHost: portstack.example\r\nConnection: close\r\n\r\n' |
  in_ns timeout 20 openssl s_client -connect 192.0.2.2:443 -servername portstack.example -CAfile ca.crt \
    -verify_return_error -verify_hostname portstack.example -ign_eof >s_client.txt 2>&1 \
  || fail "openssl s_client failed: $(tail -5 s_client.txt)"
grep -q "Verify return code: 0 (ok)" s_client.txt || fail "s_client did not verify portstack's certificate"
grep -q "Verified peername: portstack.example" s_client.txt || fail "s_client did not verify the name"
grep -q "^configuration page$" s_client.txt || fail "s_client got no page: $(tail -5 s_client.txt)"
grep -q "Protocol *: TLSv1.2" s_client.txt || fail "not TLS 1.2: $(grep -i protocol s_client.txt)"

set +e
in_ns curl -sS --max-time 20 --cacert wrong.crt "${resolve[@]}" -o /dev/null "$url/small.bin" 2>curl-wrong.txt
rc=$?
set -e
[ $rc -eq 60 ] || fail "curl with the wrong CA: exit $rc, expected 60 (certificate problem): $(cat curl-wrong.txt)"

kill -INT "$pid"
wait "$pid" || fail "portstack's server exited with an error"
pid=""
[ "$(counter run.log tls_handshakes)" -eq 3 ] || fail "the server counted $(counter run.log tls_handshakes) handshakes"
[ "$(counter run.log tls_handshake_fail)" -ge 1 ] || fail "the server did not count curl's refusal"
grep -q "^portstack: https: [0-9]* connections, [0-9]* requests, [0-9]* 2xx, 0 4xx, 0 5xx" run.log \
  || fail "the https server's summary: $(grep 'portstack: https' run.log)"

# ---- portstack's HTTPS client ------------------------------------------------
check() { # LOG PATH FILE CONNECTION
  local sum size
  sum=$(fnv "$3"); size=$(stat -c %s "$3")
  grep -q "GET $2 -> 200, $size bytes, fnv1a64 $sum, $4 connection" "$1" || fail "GET $2: expected $size bytes, $sum, $4"
}
get() { # LOG ARGS...: portstack run as a client
  local log=$1
  shift
  in_ns timeout 60 "$bin" run --tap pstap0 --address 192.0.2.2/24 --duration 50 "$@" >"$log" 2>&1
}

(cd www && exec ip netns exec "$ns" openssl s_server -accept 192.0.2.1:4433 -cert ../peer.crt -key ../peer.key \
  -WWW -quiet) >s_server.log 2>&1 &
spid=$!
for _ in $(seq 1 50); do in_ns ss -ltn | grep -q "192.0.2.1:4433" && break; sleep 0.1; done
get get.log --get https://192.0.2.1:4433/blob.bin --cacert ca.crt --servername peer.example \
  || fail "portstack --get from openssl s_server failed"
check get.log /blob.bin www/blob.bin new
[ "$(counter get.log tls_handshakes)" -eq 1 ] || fail "the client did not count its handshake"

set +e
get wrong-ca.log --get https://192.0.2.1:4433/small.bin --cacert wrong.crt --servername peer.example
rc=$?
get wrong-name.log --get https://192.0.2.1:4433/small.bin --cacert ca.crt --servername other.example
rc2=$?
set -e
[ $rc -eq 1 ] && [ $rc2 -eq 1 ] || fail "a refused certificate should exit 1 (got $rc and $rc2)"
grep -q "GET /small.bin failed: EACCES (.*not correctly signed by the trusted CA" wrong-ca.log \
  || fail "the wrong CA: $(grep 'GET' wrong-ca.log)"
grep -q "GET /small.bin failed: EACCES (.*Common Name (CN) does not match" wrong-name.log \
  || fail "the wrong name: $(grep 'GET' wrong-name.log)"
[ "$(counter wrong-ca.log tls_verify_fail)" -eq 1 ] || fail "the client did not count the failed verification"
stop "$spid"
spid=""

if nginx -V 2>&1 | grep -q -- --with-http_ssl_module; then
  ns_nginx_conf >nginx.conf <<SERVER
    listen 192.0.2.1:443 ssl;
    server_name peer.example;
    ssl_certificate $tmp/peer.crt;
    ssl_certificate_key $tmp/peer.key;
    root $tmp/www;
SERVER
  ip netns exec "$ns" nginx -c "$tmp/nginx.conf" -p "$tmp" >nginx.out 2>&1 &
  npid=$!
  for _ in $(seq 1 50); do in_ns ss -ltn | grep -q "192.0.2.1:443" && break; sleep 0.1; done
  get nginx.log --cacert ca.crt --servername peer.example --get https://192.0.2.1/ \
    --get https://192.0.2.1/blob.bin --get https://192.0.2.1/small.bin || fail "portstack --get from nginx failed"
  check nginx.log / www/index.html new
  check nginx.log /blob.bin www/blob.bin reused
  check nginx.log /small.bin www/small.bin reused
  [ "$(counter nginx.log tls_handshakes)" -eq 1 ] || fail "three GETs from nginx took more than one handshake"
  nginx_note=", three GETs from nginx on one TLS connection"
else
  nginx_note=" (nginx without ssl: its part skipped)"
fi

echo "PASS: curl and openssl s_client verified portstack's HTTPS server, byte-exact; portstack's HTTPS" \
  "client byte-exact from openssl s_server$nginx_note; wrong CA and wrong name refused cleanly"
