#!/usr/bin/env bash
# portstack's DHCP, DNS and NTP servers against Debian's own clients,
# through a TAP device inside a network namespace this test creates and
# removes (DEVELOPERS.md, network safety): `portstack run --serve
# dhcp,dns,ntp` on 192.0.2.1, the kernel's side of the TAP device as the
# client host.
#  - busybox udhcpc takes a lease (its script records what it was given:
#    address in the pool, netmask, router, DNS server, lease time) and
#    releases it; portstack's counters say discover/offer/request/ack.
#  - dig: A records, a CNAME chain, NXDOMAIN, an empty answer (AAAA),
#    REFUSED for class CHAOS, EDNS, and a 40-record answer that arrives
#    truncated over UDP (TC) and whole over TCP.
#  - sntp (ntpsec's ntpdig) takes the time from portstack, which serves
#    this machine's clock: the offset it measures is near zero; chronyd -Q
#    (which never sets the clock) agrees.
# Usage: test_servers_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip busybox dig sntp

ns_setup pstest-srv
pid="" upid=""
ns_kill_at_exit pid upid
fail_details() { echo "--- portstack:"; cat "$tmp/run.log"; }
ns_tap none # no address yet: the kernel's side asks DHCP for one

records=(--dns-record server.example=198.51.100.10 --dns-record www.example=web.example
  --dns-record web.example=server.example)
for i in $(seq 1 40); do records+=(--dns-record "big.example=203.0.113.$i"); done
ip netns exec "$ns" timeout 60 "$bin" run --tap pstap0 --address 192.0.2.1/24 --gateway 192.0.2.254 --seed 9 \
  --serve dhcp,dns,ntp:123 --dhcp-pool 192.0.2.100-192.0.2.109 "${records[@]}" --duration 50 \
  >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q "serving ntp" "$tmp/run.log" && break; sleep 0.1; done
grep -q "serving dhcp on udp port 67, pool 192.0.2.100-192.0.2.109 (10 addresses)" "$tmp/run.log" || fail "no dhcp"
grep -q "serving dns on udp and tcp port 53, 43 records" "$tmp/run.log" || fail "no dns"

# ---- DHCP: busybox udhcpc ------------------------------------------------------------------
cat >"$tmp/lease.sh" <<SH
#!/bin/sh
# udhcpc's event script: write down what the server gave and take the
# address (inside the test's namespace), so that the DHCPRELEASE can leave
# from it; no route, no resolver configuration.
# The record is written last: the test stops udhcpc once it sees it.
if [ "\$1" = bound ]; then
  ip addr replace "\$ip/24" dev "\$interface"
  echo "ip=\$ip subnet=\$subnet router=\$router dns=\$dns lease=\$lease serverid=\$serverid" >"$tmp/lease.tmp"
  mv "$tmp/lease.tmp" "$tmp/lease.txt"
fi
exit 0
SH
chmod +x "$tmp/lease.sh"
# In the foreground until told to stop; -R: release the lease then.
ip netns exec "$ns" timeout 30 busybox udhcpc -i pstap0 -f -R -t 5 -T 1 -s "$tmp/lease.sh" >"$tmp/udhcpc.log" 2>&1 &
upid=$!
for _ in $(seq 1 100); do [ -s "$tmp/lease.txt" ] && break; sleep 0.1; done
kill -TERM "$upid" 2>/dev/null || true
wait "$upid" 2>/dev/null || true
upid=""
grep -q "unicasting a release" "$tmp/udhcpc.log" || { cat "$tmp/udhcpc.log"; fail "udhcpc did not release its lease"; }
lease=$(cat "$tmp/lease.txt" 2>/dev/null) || { cat "$tmp/udhcpc.log"; fail "udhcpc got no lease"; }
[[ $lease =~ ^ip=192\.0\.2\.(10[0-9])\ subnet=255\.255\.255\.0\ router=192\.0\.2\.254\ dns=192\.0\.2\.1\ lease=3600\ serverid=192\.0\.2\.1$ ]] ||
  fail "udhcpc was given: $lease"
addr=$(echo "$lease" | sed 's/^ip=\([0-9.]*\) .*/\1/')

# udhcpc released the lease as it quit (-R); the kernel's side keeps the
# address to talk to the other servers.
in_ns ip -4 addr show dev pstap0 | grep -q "inet $addr/24" || fail "the lease script did not take $addr"

# ---- DNS: dig ----------------------------------------------------------------------------
dig_() { in_ns dig @192.0.2.1 +time=2 +tries=2 "$@"; }
[ "$(dig_ +short server.example A)" = "198.51.100.10" ] || fail "dig server.example"
chain=$(dig_ +short www.example A | tr '\n' ' ')
[ "$chain" = "web.example. server.example. 198.51.100.10 " ] || fail "dig www.example: '$chain'"
out=$(dig_ nosuch.example A)
echo "$out" | grep -q "status: NXDOMAIN" && echo "$out" | grep -q "flags: qr aa rd;" ||
  fail "nosuch.example: not an authoritative NXDOMAIN: $out"
out=$(dig_ server.example AAAA)
echo "$out" | grep -q "status: NOERROR" && echo "$out" | grep -q "ANSWER: 0," || fail "AAAA: not an empty NOERROR"
echo "$out" | grep -q "EDNS: version: 0" || fail "no EDNS in the answer to dig's EDNS query"
dig_ CH server.example TXT | grep -q "status: REFUSED" || fail "class CHAOS not refused"
# 40 A records: 12 + 17 + 40 * 16 = 669 bytes.  Plain DNS over UDP: cut, TC.
out=$(dig_ +noedns +ignore big.example A)
echo "$out" | grep -Eq "flags: qr aa tc rd;" || fail "big.example over UDP is not truncated: $out"
n=$(echo "$out" | grep -c "IN	A	203\.0\.113\.") || true
[ "$n" -gt 0 ] && [ "$n" -lt 40 ] || fail "the truncated answer held $n records"
# dig itself retries a truncated answer over TCP: all 40.
got=$(dig_ +noedns +short big.example A | sort -V | tr '\n' ' ')
want=$(for i in $(seq 1 40); do printf '203.0.113.%d ' "$i"; done)
[ "$got" = "$want" ] || fail "big.example after TCP retry: $got"
[ "$(dig_ +tcp +short big.example A | wc -l)" -eq 40 ] || fail "big.example over TCP"

# ---- NTP: ntpdig (sntp), chronyd -Q --------------------------------------------------------
out=$(in_ns timeout 20 sntp -j -t 3 192.0.2.1 2>&1) || fail "sntp failed: $out"
offset=$(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["offset"], d["stratum"])') ||
  fail "sntp printed: $out"
read -r off stratum <<<"$offset"
awk -v o="$off" 'BEGIN { exit !(o < 0.5 && o > -0.5) }' || fail "sntp measured an offset of $off s"
[ "$stratum" = 10 ] || fail "sntp saw stratum $stratum, expected 10"
if command -v chronyd >/dev/null; then
  printf 'server 192.0.2.1 iburst maxsamples 1\ncmdport 0\npidfile %s/chronyd.pid\n' "$tmp" >"$tmp/chrony.conf"
  in_ns timeout 30 chronyd -Q -f "$tmp/chrony.conf" -u root >"$tmp/chrony.log" 2>&1 ||
    { cat "$tmp/chrony.log"; fail "chronyd -Q failed"; }
  grep -Eq "System clock wrong by -?0\.[0-9]+ seconds" "$tmp/chrony.log" ||
    { cat "$tmp/chrony.log"; fail "chronyd -Q did not measure a sub-second offset"; }
fi

# ---- the servers' own counters ---------------------------------------------------------------
kill -INT "$pid"
wait "$pid" || fail "portstack exited with an error"
pid=""
grep -q "dhcp: 1 discovers, 1 offers, 1 requests, 1 acks, 0 naks, 1 releases, 0 leased" "$tmp/run.log" ||
  fail "the DHCP server's counters"
grep -Eq "dns: [0-9]+ udp and [1-9][0-9]* tcp queries, .* 1 nxdomain, [1-9][0-9]* truncated" "$tmp/run.log" ||
  fail "the DNS server's counters"
grep -Eq "ntp: [1-9][0-9]* requests, [1-9][0-9]* answered" "$tmp/run.log" || fail "the NTP server's counters"
echo "PASS: udhcpc leased $addr and released it; dig got A, CNAME chain, NXDOMAIN, NODATA, REFUSED," \
  "truncation and TCP; sntp and chronyd measured offset $off s from portstack's clock"
