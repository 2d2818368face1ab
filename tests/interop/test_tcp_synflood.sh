#!/usr/bin/env bash
# A SYN flood from the kernel's side while a normal client still gets
# through (SYN cookies), in a private network namespace this test creates
# and removes.  Network safety as the other interop tests: documentation
# addresses only (192.0.2.0/24 for the TAP, spoofed sources from
# 198.51.100.0/24), no default route in the namespace, everything bounded
# in count and time.
#
#  - portstack serves echo on 7 (--serve), its default half-open queue;
#  - a raw-socket sender (synflood.py, standard library only) sends 20,000
#    SYNs from random sources in 198.51.100.0/24 to port 7, never answering
#    (portstack's SYN-ACKs go to its gateway, the namespace's kernel, which
#    does not forward them);
#  - meanwhile the kernel's own TCP connects to echo 20 times and gets
#    64 KB back byte-exact each time;
#  - the counters portstack prints at exit show the cookies: sent (about one
#    per SYN beyond the queue), accepted (the client's connections), and the
#    half-open queue never dropped a SYN.
# Usage: test_tcp_synflood.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip /usr/bin/python3

SYNS=20000          # the flood's size
FLOOD_SECONDS=60    # and its time bound
CONNS=20            # the client's connections during the flood
BYTES=65536         # echoed per connection

ns_setup pstest-synflood
pid=""
fpid=""
ns_kill_at_exit fpid pid
fail_details() { echo "--- portstack output:"; tail -n 200 "$tmp/run.log"; }
ns_tap 192.0.2.1/24 # and checks that the namespace has no default route

# Not through in_ns: $! must name portstack itself.
ip netns exec "$ns" "$bin" run --tap pstap0 --address 192.0.2.2/24 --gateway 192.0.2.1 --duration 150 \
  --seed 17 --serve echo:7 >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q "serving echo on tcp port 7" "$tmp/run.log" && break; sleep 0.1; done
grep -q "serving echo on tcp port 7" "$tmp/run.log" || fail "portstack did not start TCP echo"
# ARP both ways before the flood, so the first client SYN is not the one
# that waits.
in_ns timeout 10 ping -c 1 -W 2 192.0.2.2 >/dev/null || fail "portstack does not answer ping"

in_ns timeout $((FLOOD_SECONDS + 10)) /usr/bin/python3 "$here/synflood.py" flood 192.0.2.2 7 $SYNS $FLOOD_SECONDS \
  >"$tmp/flood.log" 2>&1 &
fpid=$!
sleep 1 # the half-open queue is full long before this
in_ns timeout 120 /usr/bin/python3 "$here/synflood.py" client 192.0.2.2 7 $CONNS $BYTES ||
  fail "the client did not get through the flood"
wait "$fpid" || { cat "$tmp/flood.log"; fail "the flood sender failed"; }
fpid=""
cat "$tmp/flood.log"

kill -INT "$pid"
wait "$pid" || fail "portstack exited with an error"
pid=""
count() { awk -v n="$1" '$1 == n {print $2}' "$tmp/run.log" | tail -n 1; }
sent=$(count tcp_syncookies_sent); ok=$(count tcp_syncookies_ok); failed=$(count tcp_syncookies_failed)
overflow=$(count tcp_synq_overflow)
sent=${sent:-0}; ok=${ok:-0}; failed=${failed:-0}; overflow=${overflow:-0}
echo "counters: tcp_syncookies_sent $sent, tcp_syncookies_ok $ok, tcp_syncookies_failed $failed, tcp_synq_overflow $overflow"
[ "$sent" -ge $((SYNS / 2)) ] || fail "only $sent cookies sent for $SYNS SYNs"
[ "$ok" -ge 1 ] || fail "no connection came through a cookie"
[ "$ok" -le "$CONNS" ] || fail "$ok cookie connections, but only $CONNS were made"
[ "$overflow" -eq 0 ] || fail "$overflow SYNs dropped at the half-open queue with cookies on"
echo "PASS: $SYNS spoofed SYNs; $CONNS echo connections byte-exact during the flood; $sent cookies sent, $ok used"
