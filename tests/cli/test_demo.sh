#!/usr/bin/env bash
# The demo and the command line: the demo's claims checked against the
# capture it writes (tshark), and the errors for bad arguments.
# Usage: test_demo.sh PATH/TO/portstack
set -euo pipefail
bin=$(readlink -f "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp"

"$bin" demo --pcap demo.pcap --seed 3 >out.txt || { cat out.txt; fail "demo exited non-zero"; }
grep -q -- "--- 198.51.100.20: 5 sent, 5 received, 0 errors, 0 lost" out.txt || fail "5 pings not all answered"
grep -q "reply from 198.51.100.20: seq=0 size=4000 ttl=63" out.txt || fail "the 4000-byte ping was not answered"
grep -q "from 192.0.2.1: seq=0 ICMP time exceeded in transit" out.txt || fail "no time exceeded from the router"
grep -q "from 192.0.2.1: seq=0 ICMP network unreachable" out.txt || fail "no network unreachable from the router"
grep -q "Summary: 6 of 6 echo requests answered" out.txt || fail "summary wrong"
grep -Eq "192\.0\.2\.1 +[0-9a-f:]{17} +resolved +eth0" out.txt || fail "hostA's ARP cache misses the router"

# `portstack` alone is the demo (to its default pcap, in this directory).
"$bin" >alone.txt && grep -q "Summary: 6 of 6" alone.txt && [ -s portstack-demo.pcap ] || fail "bare portstack is not the demo"

if command -v tshark >/dev/null; then
  claimed=$(sed -n 's/^Every frame (\([0-9]*\)) is in.*/\1/p' out.txt)
  frames=$(tshark -r demo.pcap 2>/dev/null | wc -l)
  [ "$frames" -eq "$claimed" ] || fail "demo claims $claimed frames, the pcap has $frames"
  bad=$(tshark -r demo.pcap -o ip.check_checksum:TRUE 2>/dev/null \
    -Y '_ws.malformed || ip.checksum.status == "Bad" || icmp.checksum.status == "Bad"' | wc -l)
  [ "$bad" -eq 0 ] || fail "$bad malformed frames in the demo's pcap"
  # The capture holds what every interface sent: each of the 5 + 1 replies
  # twice, as hostB sent it and as the router forwarded it.
  replies=$(tshark -r demo.pcap -Y 'icmp.type == 0 && ip.src == 198.51.100.20' 2>/dev/null | wc -l)
  [ "$replies" -eq 12 ] || fail "expected 12 echo reply frames from hostB in the pcap, saw $replies"
  # The same seed writes the same capture.
  "$bin" demo --pcap again.pcap --seed 3 >/dev/null
  cmp -s demo.pcap again.pcap || fail "the same seed wrote a different pcap"
fi

# Command-line errors are clear and exit 2.
expect_err() {
  local want=$1; shift
  set +e; "$bin" "$@" >err.txt 2>&1; rc=$?; set -e
  [ $rc -eq 2 ] || fail "'$*' exited $rc, expected 2"
  grep -q -- "$want" err.txt || { cat err.txt; fail "'$*' did not say '$want'"; }
}
expect_err "with a prefix length" run --tap t0 --address 192.0.2.2
expect_err "unknown option" run --tap t0 --address 192.0.2.2/24 --bogus 1
expect_err "are required" run --address 192.0.2.2/24
expect_err "unknown command" frobnicate
expect_err "percentage" demo --loss 150
"$bin" run --help | grep -q -- "--address" || fail "run --help"
"$bin" help | grep -q "demo" || fail "help"
echo "PASS: demo facts match its capture; errors are clear"
