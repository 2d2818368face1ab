#!/usr/bin/env bash
# The attack suite: hostile traffic from the kernel's side of a TAP device
# against `portstack run`, in a private network namespace this test
# creates and removes.  Network safety as the other interop tests:
# documentation addresses only (192.0.2.0/24 on the TAP, spoofed sources
# from 198.51.100.0/24 and 203.0.113.0/24), no default route in the
# namespace, every attack bounded in count and time.
#
#  - portstack serves echo:7, discard:9 and http:80 (a docroot made here),
#    and echo and discard again on 1007 and 1009 (five TCP listeners: more
#    than the socket table could hold full half-open queues of), with the
#    kernel as its gateway so that it can answer spoofed off-link sources
#    (the kernel, not forwarding, drops those answers);
#  - attack_suite.py (Debian's python3-scapy and nmap) runs each attack
#    of attack_packets.py, attack_tcp.py, attack_http.py and
#    attack_scans.py with a legitimate echo transfer alongside, and checks
#    that portstack is alive, the transfer byte-exact, the counters naming
#    the defence moved and every gauge within its configured limit;
#  - at the end portstack stops cleanly, under ASan too (no leak, no
#    error), and its HTTP server reports the slow heads it timed out.
# Usage: test_attack_tap.sh PATH/TO/portstack [ATTACK ...]   (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
shift
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip nft nmap /usr/bin/python3
/usr/bin/python3 -c "import scapy" 2>/dev/null || { echo "FAIL: python3-scapy missing (scripts/deps.sh test)"; exit 1; }

SUITE_SECONDS=280   # the whole suite's bound (each attack has its own, far smaller)

ns_setup pstest-attack
pid=""
ns_kill_at_exit pid
fail_details() { echo "--- portstack output (tail):"; grep -v "^  \|^    " "$tmp/run.log" | tail -n 40; }
ns_tap 192.0.2.1/24 # and checks that the namespace has no default route
in_ns sysctl -qw net.ipv4.ip_forward=0

mkdir -p "$tmp/www"
echo "<html><body>portstack under attack</body></html>" >"$tmp/www/index.html"
head -c 2000000 /dev/urandom >"$tmp/www/big.bin"

# Not through in_ns: $! must name portstack itself.
ip netns exec "$ns" "$bin" run --tap pstap0 --address 192.0.2.2/24 --gateway 192.0.2.1 --duration 600 \
  --seed 6 --serve echo:7,discard:9,http:80,echo:1007,discard:1009 --docroot "$tmp/www" >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "serving http on tcp port 80" "$tmp/run.log" && break; sleep 0.1; done
grep -q "serving http on tcp port 80" "$tmp/run.log" || fail "portstack did not start its services"
# ARP both ways before the first attack.
in_ns timeout 10 ping -c 1 -W 2 192.0.2.2 >/dev/null || fail "portstack does not answer ping"

status=0
in_ns timeout $SUITE_SECONDS /usr/bin/python3 "$here/attack_suite.py" pstap0 "$pid" "$tmp/run.log" "$tmp/www" "$@" ||
  status=$?

kill -INT "$pid"
wait "$pid" || fail "portstack exited with an error (status $?)"
pid=""
[ "$status" -eq 0 ] || fail "the attack suite failed (status $status)"
if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$tmp/run.log"; then
  fail "sanitizer report in portstack's output"
fi
if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -q '^slow'; then
  timed_out=$(sed -n 's/^portstack: http: .* \([0-9]*\) timed out$/\1/p' "$tmp/run.log")
  [ "${timed_out:-0}" -ge 1 ] || fail "the HTTP server timed out no slow head"
fi
echo "PASS: every attack withstood; see the lines above"
