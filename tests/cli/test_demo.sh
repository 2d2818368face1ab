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
grep -q "Summary: 6 of 6 pings answered" out.txt || fail "summary wrong"
grep -q "2 of 2 UDP echoes came back" out.txt || fail "UDP echoes did not come back"
grep -q "recv() on that socket: ECONNREFUSED" out.txt || fail "the closed port did not refuse"
# The socket tables: hostB listens on the well-known ports, hostA's clients
# are connected from ephemeral ports (49152-65535), each its own quadruple.
grep -Eq "^udp +UNCONN +0 +0 +\*:echo +\*:\*" out.txt || fail "hostB does not list *:echo"
grep -Eq "^udp +UNCONN +0 +0 +\*:discard +\*:\*" out.txt || fail "hostB does not list *:discard"
ports=$(sed -n 's/^udp \+ESTAB .*192\.0\.2\.10:\([0-9]*\) .*/\1/p' out.txt | sort -u)
[ "$(echo "$ports" | wc -l)" -eq 4 ] || fail "hostA should hold 4 distinct ephemeral ports, has: $ports"
for p in $ports; do [ "$p" -ge 49152 ] && [ "$p" -le 65535 ] || fail "port $p is not ephemeral"; done
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
  # Every echo reply went back to the very port its request came from.
  reqs=$(tshark -r demo.pcap -Y 'udp.dstport == 7 && ip.src == 192.0.2.10' -T fields -e udp.srcport 2>/dev/null | sort -u)
  reps=$(tshark -r demo.pcap -Y 'udp.srcport == 7 && ip.src == 198.51.100.20' -T fields -e udp.dstport 2>/dev/null | sort -u)
  [ -n "$reqs" ] && [ "$reqs" = "$reps" ] || fail "echo replies went to ports '$reps', requests came from '$reqs'"
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
expect_err "one of --address or --dhcp" run --tap t0 --address 192.0.2.2/24 --dhcp
expect_err "needs --dns ADDR or --dhcp" run --tap t0 --address 192.0.2.2/24 --resolve www.example
expect_err "unknown command" frobnicate
expect_err "unknown service 'gopher'" run --tap t0 --address 192.0.2.2/24 --serve gopher:70
expect_err "bad port '70000' for echo" run --tap t0 --address 192.0.2.2/24 --serve echo:70000
expect_err "bad port '' for echo" run --tap t0 --address 192.0.2.2/24 --serve echo:
expect_err "percentage" demo --loss 150
"$bin" run --help | grep -q -- "--address" || fail "run --help"
"$bin" help | grep -q "demo" || fail "help"
echo "PASS: demo facts match its capture; errors are clear"
