#!/usr/bin/env bash
# UDP against the Linux kernel through a TAP device, in a private network
# namespace this test creates and removes (DEVELOPERS.md, network safety).
#
#  - portstack serves echo on 7 and 150 and discard on 9;
#  - `nc -u` gets its line echoed;
#  - a Python client (the kernel's UDP sockets) sends 200 datagrams of
#    1..8000 bytes (fragmented both ways above the MTU) and gets each back
#    byte-exact; its connected socket to a closed port gets ECONNREFUSED
#    from portstack's ICMP port unreachable;
#  - nmap -sU -p 1-200 finds exactly 7 and 150 open, 9 open|filtered (a
#    discard service never answers, so no UDP scan can tell it from a
#    filtered port), and every other port closed.
# Usage: test_udp_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip nc nmap /usr/bin/python3

ns_setup pstest-udp
pid=""
ns_kill_at_exit pid
fail_details() { echo "--- portstack output:"; cat "$tmp/run.log"; }
ns_tap 192.0.2.1/24

ip netns exec "$ns" "$bin" run --tap pstap0 --address 192.0.2.2/24 --duration 240 --seed 11 \
  --serve echo:7,discard:9,echo:150 >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q "serving echo on udp port 150" "$tmp/run.log" && break; sleep 0.1; done
grep -q "serving echo on udp port 150" "$tmp/run.log" || fail "portstack did not start its services"

reply=$(echo "hello portstack" | in_ns timeout 5 nc -u -w1 192.0.2.2 7 || true)
[ "$reply" = "hello portstack" ] || fail "nc -u got '$reply' back from echo"

in_ns /usr/bin/python3 "$here/udp_client.py" 192.0.2.2 7 150 4242 || fail "the Python UDP client failed"

in_ns timeout 120 nmap -n -sU -p 1-200 -T4 --max-retries 6 -oG "$tmp/nmap.txt" 192.0.2.2 >/dev/null ||
  fail "nmap failed"
line=$(grep "Ports:" "$tmp/nmap.txt")
open=$(echo "$line" | grep -o '[0-9]*/open/udp' | cut -d/ -f1 | sort -n | tr '\n' ' ')
openf=$(echo "$line" | grep -o '[0-9]*/open|filtered/udp' | cut -d/ -f1 | sort -n | tr '\n' ' ')
[ "$open" = "7 150 " ] || fail "nmap open ports: '$open' (expected 7 150); $line"
[ "$openf" = "9 " ] || fail "nmap open|filtered: '$openf' (expected 9); $line"
# Every other port answered "closed" (nmap folds them into "Ignored State").
echo "$line" | grep -q "Ignored State: closed (197)" || fail "not exactly 197 closed ports: $line"

kill -INT "$pid"
wait "$pid" || fail "portstack exited with an error"
pid=""
grep -Eq "udp +UNCONN +0 +0 +\*:echo " "$tmp/run.log" || fail "the socket table does not list echo"
grep -Eq "udp +UNCONN +0 +0 +\*:150 " "$tmp/run.log" || fail "the socket table does not list port 150"
echo "PASS: nc, 200 datagrams up to 8000 bytes, ECONNREFUSED, nmap: 7 150 open, 9 open|filtered, 197 closed"
