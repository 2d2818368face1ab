#!/usr/bin/env bash
# `portstack demo`, checked for the facts it claims: every socket table it
# prints is held against the stacks' own listing of that moment (its --json
# twin) and against the capture it writes (tshark: the quadruples, the
# handshakes before each table, DHCP/DNS/NTP/HTTP/TLS with the values it
# narrates, the summary's counters) by check_demo.py; the same seed tells
# the same story; loss only slows it down; bad arguments are refused.
# Usage: test_demo.sh PATH/TO/portstack
set -euo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp"

"$bin" demo --seed 3 --pcap demo.pcap --json demo.json >out.txt || { cat out.txt; fail "demo exited non-zero"; }
grep -q "steps: DHCP ok, DNS ok, SNTP ok, listen ok, uplink ok, laptop ok" out.txt || { cat out.txt; fail "a step failed"; }
[ -s demo.pcap ] || fail "no capture written"

# ---- the output against the stacks and the capture -------------------------------------
if ! command -v tshark >/dev/null || [ ! -x /usr/bin/python3 ]; then
  echo "FAIL: tshark and /usr/bin/python3 are needed (scripts/deps.sh test installs them)"; exit 1
fi
# The capture as one row of fields per frame (check_demo.py names them in
# this order); the camera's page on 8000 is HTTP, and so is 443 without TLS.
decode=(-d tcp.port==8000,http)
grep -q '"tls":false' demo.json && decode+=(-d tcp.port==443,http)
fields() {
  tshark -r "$1" "${decode[@]}" -T fields -E separator=/t -E occurrence=a -E aggregator=, \
    -e frame.time_epoch -e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e tcp.srcport -e tcp.dstport \
    -e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin -e tcp.flags.reset -e dhcp.option.dhcp -e dhcp.ip.your \
    -e dns.flags.response -e dns.a -e ntp.flags.mode -e ntp.xmt -e http.request.method -e http.response.code \
    -e tls.handshake.type -e tls.handshake.extensions_server_name -e x509sat.uTF8String 2>/dev/null |
    sed 's/^/0\t/' # the frame number column check_demo.py expects first
}
fields demo.pcap >frames.tsv
/usr/bin/python3 "$here/check_demo.py" out.txt demo.json frames.tsv
bad=$(tshark -r demo.pcap "${decode[@]}" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
  -o udp.check_checksum:TRUE -Y '_ws.malformed || _ws.expert.severity == error || ip.checksum.status == "Bad" ||
  tcp.checksum.status == "Bad" || udp.checksum.status == "Bad"' 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || fail "$bad malformed or erroneous frames in the demo's capture"

# ---- the same seed tells the same story --------------------------------------------------
mkdir again && (cd again && "$bin" demo --seed 3 --pcap demo.pcap --json demo.json >out.txt) || fail "second run"
cmp -s out.txt again/out.txt || { diff out.txt again/out.txt | head; fail "the same seed printed another story"; }
cmp -s demo.json again/demo.json || fail "the same seed listed other tables"
if grep -q '"tls":false' demo.json; then
  cmp -s demo.pcap again/demo.pcap || fail "the same seed wrote another capture"
else
  # mbedTLS writes the host's clock into the hello messages (and so the
  # keys and ciphertext differ); every frame's time, size and header replay.
  fields again/demo.pcap | cut -f1-12 >again.tsv
  cut -f1-12 frames.tsv | cmp -s - again.tsv || fail "the same seed wrote another capture"
fi
# Another seed: other ephemeral ports, the same story.
"$bin" demo --seed 4 --pcap seed4.pcap >seed4.txt || fail "seed 4 failed"
p3=$(grep -m1 -oE '192\.0\.2\.[0-9]+:[0-9]+ +192\.0\.2\.2:domain' out.txt)
p4=$(grep -m1 -oE '192\.0\.2\.[0-9]+:[0-9]+ +192\.0\.2\.2:domain' seed4.txt)
[ -n "$p3" ] && [ "$p3" != "$p4" ] || fail "seeds 3 and 4 picked the same DNS port: '$p3'"

# ---- loss slows the story down but it ends ------------------------------------------------
"$bin" demo --seed 5 --loss 10 --pcap lossy.pcap >lossy.txt || fail "the demo with 10% loss failed"
grep -q "^Summary" lossy.txt && grep -q "^Every frame" lossy.txt || fail "the lossy demo did not finish its story"

# `portstack` alone is the demo, writing its default capture here.
"$bin" >alone.txt || fail "bare portstack failed"
grep -q "laptop ok" alone.txt && [ -s portstack-demo.pcap ] || fail "bare portstack is not the demo"

# ---- bad arguments ------------------------------------------------------------------------
expect_err() {
  local want=$1 rc; shift
  set +e; "$bin" "$@" >err.txt 2>&1; rc=$?; set -e
  [ $rc -eq 2 ] || fail "'$*' exited $rc, expected 2"
  grep -q -- "$want" err.txt || { cat err.txt; fail "'$*' did not say '$want'"; }
}
expect_err "percentage" demo --loss 150
expect_err "--seed wants a number" demo --seed x
expect_err "--json needs a value" demo --json
expect_err "unknown option '--bogus'" demo --bogus
set +e; "$bin" demo --json /nonexistent/dir/x.json >/dev/null 2>err.txt; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "cannot write" err.txt || fail "an unwritable --json path was not refused"
"$bin" demo --help | grep -q -- "--json FILE" || fail "demo --help does not list --json"
echo "PASS: the demo's tables are the stacks' and agree with its capture; it replays; errors are clear"
