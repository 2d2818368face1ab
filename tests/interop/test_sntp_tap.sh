#!/usr/bin/env bash
# SNTP against Debian's chrony, through a TAP device inside a network
# namespace this test creates and removes (DEVELOPERS.md, network safety).
# chronyd serves this machine's clock (local stratum 8, -x: it never
# touches the clock) on 192.0.2.1 inside the namespace only; portstack's
# stack starts with no idea of the time and must end within a second of
# the machine's own clock.
# Usage: test_sntp_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip chronyd

ns_setup pstest-sntp
pid="" cpid=""
ns_kill_at_exit pid cpid
fail_details() { echo "--- portstack:"; cat "$tmp/run.log"; echo "--- chronyd:"; tail -20 "$tmp/chrony.log"; }
ns_tap 192.0.2.1/24

cat >"$tmp/chrony.conf" <<CONF
local stratum 8
allow 192.0.2.0/24
bindaddress 192.0.2.1
port 123
cmdport 0
pidfile $tmp/chronyd.pid
driftfile $tmp/drift
CONF
ip netns exec "$ns" chronyd -d -x -u root -f "$tmp/chrony.conf" >"$tmp/chrony.log" 2>&1 &
cpid=$!
sleep 1
kill -0 "$cpid" 2>/dev/null || fail "chronyd did not start"

ip netns exec "$ns" "$bin" run --tap pstap0 --address 192.0.2.2/24 --sntp 192.0.2.1 --duration 30 --seed 3 \
  >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "sntp: clock set to" "$tmp/run.log" && break; sleep 0.1; done
line=$(grep -m1 "sntp: clock set to" "$tmp/run.log") || fail "no time from chrony"
ours=$(echo "$line" | sed -n 's/.*clock set to \([0-9]*\)\.\([0-9]*\).*/\1.\2/p')
mine=$(date +%s.%N)
diff=$(awk -v a="$ours" -v b="$mine" 'BEGIN { d = a - b; if (d < 0) d = -d; print d }')
awk -v d="$diff" 'BEGIN { exit !(d < 1.0) }' || fail "portstack's clock is $diff s from the machine's"
echo "$line" | grep -q "stratum 8" || fail "expected chrony's local stratum 8: $line"
echo "PASS: portstack's wall clock set by SNTP from chrony to within ${diff}s of the machine's clock"
