#!/usr/bin/env bash
# TCP against the Linux kernel through a TAP device, in a private network
# namespace this test creates and removes (DEVELOPERS.md, network safety:
# addresses from 192.0.2.0/24 only, no default route, everything bounded in
# count and time).
#
#  - portstack serves echo on 7 and discard on 9 (UDP and TCP);
#  - the kernel's `nc` gets a line echoed back, and pushes 1 MB into discard;
#  - a Python client (the kernel's TCP sockets) sends 100 MB to echo while
#    reading it back byte-exact, 100 MB to discard (closed by the server
#    after the client's FIN), opens and closes 1000 connections in a row,
#    and has a connect to a closed port refused;
#  - with 2% random loss each way on the kernel's side (nftables), 20 MB
#    each way and 5 connections still come back byte-exact;
#  - nmap -sS -p 1-100 finds exactly 7 and 9 open, the other 98 closed;
#  - tshark reads the capture: no malformed segment, no bad checksum, and
#    portstack's SYN-ACKs to the kernel's sockets carry window scaling,
#    timestamps and SACK-permitted (and none the SYN did not offer).
# The reverse direction (portstack as the client, 100 MB each way) is
# test_tcp_client_tap.sh.
# Usage: test_tcp_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip nc nmap tshark /usr/bin/python3

ns_setup pstest-tcp
pid=""
ns_kill_at_exit pid
fail_details() { echo "--- portstack output:"; tail -n 200 "$tmp/run.log"; }
ns_tap 192.0.2.1/24

# Not through in_ns: $! must name portstack itself.
ip netns exec "$ns" "$bin" run --tap pstap0 --address 192.0.2.2/24 --pcap "$tmp/cap.pcap" --duration 240 \
  --seed 13 --serve echo:7,discard:9 >"$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q "serving discard on tcp port 9" "$tmp/run.log" && break; sleep 0.1; done
grep -q "serving echo on tcp port 7" "$tmp/run.log" || fail "portstack did not start TCP echo"
grep -q "serving discard on tcp port 9" "$tmp/run.log" || fail "portstack did not start TCP discard"
grep -q "serving echo on udp port 7" "$tmp/run.log" || fail "portstack did not start UDP echo"

# nc: a line to echo (-N: half-close after stdin's EOF; echo then closes).
reply=$(echo "hello portstack" | in_ns timeout 10 nc -N -w5 192.0.2.2 7 || true)
[ "$reply" = "hello portstack" ] || fail "nc got '$reply' back from TCP echo"
# nc: 1 MB into discard; nothing comes back and nc ends normally.
head -c 1000000 /dev/urandom >"$tmp/1mb"
back=$(in_ns timeout 30 nc -N -w5 192.0.2.2 9 <"$tmp/1mb" | wc -c) || fail "nc to discard failed"
[ "$back" -eq 0 ] || fail "discard sent $back bytes back"
# nc: 1 MB through echo, byte-exact.
in_ns timeout 30 nc -N -w5 192.0.2.2 7 <"$tmp/1mb" >"$tmp/1mb.back" || fail "nc to echo failed"
cmp -s "$tmp/1mb" "$tmp/1mb.back" || fail "nc: 1 MB through echo came back different ($(wc -c <"$tmp/1mb.back") bytes)"

in_ns timeout 200 /usr/bin/python3 "$here/tcp_client.py" 192.0.2.2 7 9 10 100 1000 || fail "the Python TCP client failed"

# Random loss on the kernel's side of the TAP, both ways: nftables inside
# the namespace (this kernel has no netem qdisc), 2% of the frames.
if command -v nft >/dev/null; then
  in_ns nft -f - <<'NFT'
table inet lossy {
  chain in  { type filter hook input priority 0; iifname "pstap0" numgen random mod 100 < 2 counter drop; }
  chain out { type filter hook output priority 0; oifname "pstap0" numgen random mod 100 < 2 counter drop; }
}
NFT
  in_ns timeout 180 /usr/bin/python3 "$here/tcp_client.py" 192.0.2.2 7 9 10 20 5 ||
    fail "the Python TCP client failed with 2% loss each way"
  drops=$(in_ns nft list table inet lossy | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
  in_ns nft delete table inet lossy
  [ "${drops:-0}" -gt 0 ] || fail "the loss rules dropped nothing"
  echo "note: nftables dropped $drops frames during the lossy transfers"
else
  fail "nft missing (scripts/deps.sh test installs nftables)"
fi

# nmap's SYN scan from a fixed source port, so its probes can be told apart
# in the capture: one outside the kernel's ephemeral range (32768-60999), or
# a client connection above may have used it too, and the kernel, still in
# TIME_WAIT for it, answers portstack's SYN-ACK to a probe with an ACK.
in_ns timeout 120 nmap -n -sS -g 61500 -p 1-100 -T4 --max-retries 4 -oG "$tmp/nmap.txt" 192.0.2.2 >/dev/null ||
  fail "nmap failed"
line=$(grep "Ports:" "$tmp/nmap.txt") || fail "nmap found no ports: $(cat "$tmp/nmap.txt")"
open=$(echo "$line" | grep -o '[0-9]*/open/tcp' | cut -d/ -f1 | sort -n | tr '\n' ' ')
[ "$open" = "7 9 " ] || fail "nmap open ports: '$open' (expected 7 9); $line"
echo "$line" | grep -q "Ignored State: closed (98)" || fail "not exactly 98 closed ports: $line"

kill -USR1 "$pid"
sleep 0.5
kill -INT "$pid"
wait "$pid" || fail "portstack exited with an error"
pid=""
grep -Eq "tcp +LISTEN +0 +[0-9]+ +\*:echo " "$tmp/run.log" || fail "the socket table does not list TCP echo listening"
grep -Eq "tcp +LISTEN +0 +[0-9]+ +\*:discard " "$tmp/run.log" || fail "the socket table does not list TCP discard listening"
grep -Eq "udp +UNCONN +0 +0 +\*:echo " "$tmp/run.log" || fail "the socket table does not list UDP echo"

# The capture: every frame well-formed, and every checksum of portstack's
# right.  (The kernel's own frames are not judged: it may write a TCP
# checksum of 0xffff for 0x0000, equivalent by RFC 1624, which tshark
# flags.)
cap="$tmp/cap.pcap"
frames=$(tshark -r "$cap" 2>/dev/null | wc -l)
[ "$frames" -gt 1000 ] || fail "only $frames frames in the capture"
badf='_ws.malformed || (ip.src == 192.0.2.2 && (_ws.expert.severity == error || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad"))'
bad=$(tshark -r "$cap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -Y "$badf" 2>/dev/null | wc -l)
if [ "$bad" -ne 0 ]; then
  tshark -r "$cap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -Y "$badf" 2>/dev/null | head -20
  fail "$bad malformed frames or bad checksums from portstack in the capture"
fi
# portstack's SYN-ACKs to the kernel's own sockets (not nmap's probes):
# every one offers window scaling, timestamps and SACK-permitted back.
synack='ip.src == 192.0.2.2 && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.dstport != 61500'
n_synack=$(tshark -r "$cap" -Y "$synack" 2>/dev/null | wc -l)
[ "$n_synack" -ge 100 ] || fail "only $n_synack SYN-ACKs from portstack to the kernel's sockets"
full=$(tshark -r "$cap" -Y "$synack && tcp.options.wscale.shift && tcp.options.timestamp.tsval && tcp.options.sack_perm" \
  2>/dev/null | wc -l)
[ "$full" -eq "$n_synack" ] ||
  fail "$full of $n_synack SYN-ACKs carry window scale, timestamps and SACK-permitted"
# The kernel offered them too, so they are negotiated: later segments from
# portstack carry timestamps.
ts_data=$(tshark -r "$cap" -Y 'ip.src == 192.0.2.2 && tcp.flags.syn == 0 && tcp.len > 0 && tcp.options.timestamp.tsval' \
  2>/dev/null | wc -l)
[ "$ts_data" -gt 100 ] || fail "only $ts_data data segments from portstack carry timestamps"
# nmap's SYNs: portstack answers with no option the probe did not offer.
for opt in wscale.shift sack_perm timestamp.tsval; do
  offered=$(tshark -r "$cap" -Y "tcp.srcport == 61500 && tcp.flags.syn == 1 && tcp.options.$opt" 2>/dev/null | wc -l)
  answered=$(tshark -r "$cap" -Y "tcp.dstport == 61500 && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.options.$opt" \
    2>/dev/null | wc -l)
  [ "$offered" -gt 0 ] || [ "$answered" -eq 0 ] || fail "portstack answered nmap's SYN with $opt it did not offer"
done
# Every port nmap probed other than 7 and 9 answered with RST.
rst_ports=$(tshark -r "$cap" -Y 'ip.src == 192.0.2.2 && tcp.dstport == 61500 && tcp.flags.reset == 1' \
  -T fields -e tcp.srcport 2>/dev/null | sort -un | wc -l)
if [ "$rst_ports" -ne 98 ]; then
  tshark -r "$cap" -Y '(tcp.port == 7 || tcp.port == 9) && tcp.port == 61500' 2>/dev/null | tail -20
  fail "$rst_ports closed ports answered nmap with RST (expected 98)"
fi
echo "PASS: nc and Python echo/discard byte-exact, 1000 connections in a row, refused port, nmap: 7 9 open, 98 closed;" \
  "$n_synack SYN-ACKs with wscale, timestamps, SACK-permitted"
