#!/usr/bin/env bash
# DHCP and DNS against Debian's dnsmasq, through a TAP device, inside a
# network namespace this test creates and removes (DEVELOPERS.md, network
# safety).  dnsmasq serves DHCP (a 192.0.2.100-150 pool, router and DNS
# 192.0.2.1) and DNS for names the test defines; portstack boots with no
# address, takes a lease, resolves a CNAME chain, answers ping at its new
# address, and releases the lease when stopped.  Then a second host with a
# fixed address resolves big.example, whose 40 A records do not fit in a
# 512-byte UDP answer: dnsmasq answers truncated (TC), and portstack asks
# again over TCP and gets all 40 (its output, its counters and the
# capture say so).
# Usage: test_dhcp_dns_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip ping dnsmasq

ns_setup pstest-dhcp
pid="" dpid=""
ns_kill_at_exit pid dpid
fail_details() {
  echo "--- portstack:"; cat "$tmp/run.log" 2>/dev/null || true
  echo "--- dnsmasq:"; tail -20 "$tmp/dnsmasq.log" 2>/dev/null || true
}
ns_tap 192.0.2.1/24

# big.example: 40 A records, 12 + 17 + 40 * 16 = 669 bytes as an answer.
for i in $(seq 1 40); do echo "203.0.113.$i big.example"; done >"$tmp/big.hosts"

ip netns exec "$ns" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
  --interface=pstap0 --bind-interfaces --listen-address=192.0.2.1 --port=53 \
  --dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m \
  --dhcp-option=option:router,192.0.2.1 --dhcp-option=option:dns-server,192.0.2.1 \
  --host-record=server.example,198.51.100.80 --cname=www.example,server.example --addn-hosts="$tmp/big.hosts" \
  --dhcp-leasefile="$tmp/leases" --pid-file="$tmp/dnsmasq.pid" --log-dhcp --log-queries \
  >"$tmp/dnsmasq.log" 2>&1 &
dpid=$!
sleep 0.5
kill -0 "$dpid" 2>/dev/null || fail "dnsmasq did not start"

ip netns exec "$ns" "$bin" run --tap pstap0 --dhcp --resolve www.example --duration 60 --seed 5 \
  >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do grep -q "resolved www.example" "$tmp/run.log" && break; sleep 0.1; done
grep -Eq "dhcp: BOUND 192\.0\.2\.(1[0-4][0-9]|150)/24 router 192\.0\.2\.1 dns 192\.0\.2\.1" "$tmp/run.log" ||
  fail "no lease from dnsmasq"
addr=$(sed -n 's/.*dhcp: BOUND \(192\.0\.2\.[0-9]*\)\/24.*/\1/p' "$tmp/run.log" | head -1)
grep -q "resolved www.example: 198.51.100.80" "$tmp/run.log" || fail "www.example did not resolve through its CNAME"
mac=$(sed -n 's/.*on pstap0 (\([0-9a-f:]*\)).*/\1/p' "$tmp/run.log" | head -1)
grep -q "$mac $addr" "$tmp/leases" || fail "dnsmasq has no lease for $mac $addr"
ip netns exec "$ns" ping -c 3 -i 0.2 -W 2 "$addr" >/dev/null || fail "the leased address $addr does not answer ping"

kill -INT "$pid"
wait "$pid" || fail "portstack exited with an error"
pid=""
# DHCPRELEASE: dnsmasq drops the lease.
for _ in $(seq 1 20); do grep -q "$mac" "$tmp/leases" || break; sleep 0.1; done
grep -q "DHCPRELEASE.*$addr" "$tmp/dnsmasq.log" || fail "dnsmasq saw no DHCPRELEASE"

# TCP fallback: a truncated UDP answer, then all 40 addresses over TCP.
ip netns exec "$ns" timeout 30 "$bin" run --tap pstap0 --address 192.0.2.3/24 --dns 192.0.2.1 \
  --resolve big.example --duration 20 --seed 6 --pcap "$tmp/big.pcap" >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "resolv.* big.example" "$tmp/run.log" && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid" || fail "portstack (--resolve big.example) exited with an error"
pid=""
line=$(grep "resolved big.example:" "$tmp/run.log") || fail "big.example did not resolve"
# dnsmasq orders the records as it likes: compare the sets.
got=$(echo "$line" | grep -o '203\.0\.113\.[0-9]*' | sort -V | tr '\n' ' ')
want=$(for i in $(seq 1 40); do printf '203.0.113.%d ' "$i"; done)
[ "$got" = "$want" ] || fail "big.example: expected the 40 addresses 203.0.113.1-40, got $got"
grep -q "resolver: 1 udp queries, 1 truncated, 1 tcp queries, 1 answers (1 over tcp)" "$tmp/run.log" ||
  fail "the counters do not show one truncated UDP answer and one TCP answer"
if command -v tshark >/dev/null; then
  tc=$(tshark -r "$tmp/big.pcap" -Y 'udp.srcport == 53 && dns.flags.truncated == 1' 2>/dev/null | wc -l)
  full=$(tshark -r "$tmp/big.pcap" -Y 'tcp.srcport == 53 && dns.count.answers == 40' 2>/dev/null | wc -l)
  [ "$tc" -eq 1 ] && [ "$full" -eq 1 ] || fail "capture: $tc truncated UDP answers and $full TCP answers of 40 records, expected 1 and 1"
fi
echo "PASS: lease $addr from dnsmasq, www.example -> 198.51.100.80, ping answered, lease released;" \
  "big.example truncated over UDP, all 40 addresses over TCP"
