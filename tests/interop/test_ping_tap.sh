#!/usr/bin/env bash
# Interop with the Linux kernel's own IPv4 stack through a TAP device.
#
# Everything happens inside a network namespace this test creates and
# removes (DEVELOPERS.md, network safety): the TAP device, the kernel's
# address 192.0.2.1/24 and portstack's 192.0.2.2/24.  Nothing touches the
# machine's own namespace.
#
#  - portstack pings the kernel first (its own ARP request, the kernel's
#    reply), including 3000-byte probes it must fragment and reassemble;
#  - the kernel pings portstack 100 times: 0 lost;
#  - the kernel sends 4000-byte pings (fragmented by the kernel, reassembled
#    by portstack, answered in fragments, reassembled by the kernel): 0 lost;
#  - both ARP caches hold the other side;
#  - tshark reads the capture: no malformed frame, no bad checksum.
# Usage: test_ping_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip ping tshark

ns_setup pstest-ping
pid=""
ns_kill_at_exit pid
fail_details() { echo "--- portstack output:"; cat "$tmp/run.log"; }
ns_tap 192.0.2.1/24

# Not through in_ns: a backgrounded shell function is a subshell, and $!
# would name it rather than portstack (ip netns exec execs the program).
ip netns exec "$ns" "$bin" run --tap pstap0 --address 192.0.2.2/24 --pcap "$tmp/cap.pcap" --duration 120 --seed 7 \
  --ping 192.0.2.1 --ping-count 6 --ping-size 3000 >"$tmp/run.log" 2>&1 &
pid=$!

# portstack's own pings go first: wait for its 6 probes (1 s apart).
for _ in $(seq 1 100); do
  [ "$(grep -c 'ping reply from 192.0.2.1' "$tmp/run.log" || true)" -ge 6 ] && break
  kill -0 "$pid" 2>/dev/null || fail "portstack exited early"
  sleep 0.1
done
[ "$(grep -c 'ping reply from 192.0.2.1: seq=.* size=3000' "$tmp/run.log" || true)" -eq 6 ] ||
  fail "portstack did not get 6 replies to its 3000-byte pings from the kernel"

in_ns ping -c 100 -i 0.02 -W 2 192.0.2.2 >"$tmp/ping.log" || true
grep -q "100 packets transmitted, 100 received" "$tmp/ping.log" || { cat "$tmp/ping.log"; fail "ping lost packets"; }

in_ns ping -c 20 -i 0.05 -W 2 -s 4000 192.0.2.2 >"$tmp/bigping.log" || true
grep -q "20 packets transmitted, 20 received" "$tmp/bigping.log" || { cat "$tmp/bigping.log"; fail "4000-byte ping lost packets"; }

# The kernel's ARP cache holds portstack's MAC.
in_ns ip neigh show 192.0.2.2 dev pstap0 | grep -q lladdr || fail "kernel has no ARP entry for portstack"

kill -INT "$pid"
wait "$pid" || fail "portstack exited with an error"
pid=""
grep -q "ping 192.0.2.1: 6 sent, 6 received" "$tmp/run.log" || fail "portstack's ping summary is wrong"
grep -Eq "192\.0\.2\.1 +[0-9a-f:]{17} +resolved" "$tmp/run.log" || fail "portstack has no ARP entry for the kernel"
# 6 replies to its own 3000-byte pings and 20 of the kernel's 4000-byte ones.
reasm=$(awk '$1 == "ip_reasm_ok" {print $2}' "$tmp/run.log")
[ "${reasm:-0}" -eq 26 ] || fail "portstack reassembled ${reasm:-0} datagrams, expected 26"

# tshark: every frame well-formed, every checksum good.
frames=$(tshark -r "$tmp/cap.pcap" 2>/dev/null | wc -l)
[ "$frames" -ge 300 ] || fail "only $frames frames captured"
bad=$(tshark -r "$tmp/cap.pcap" -o ip.check_checksum:TRUE 2>/dev/null \
  -Y '_ws.malformed || ip.checksum.status == "Bad" || icmp.checksum.status == "Bad" || _ws.expert.severity == "Error"' | wc -l)
[ "$bad" -eq 0 ] || { tshark -r "$tmp/cap.pcap" -Y '_ws.malformed || _ws.expert.severity == "Error"' | head; fail "$bad malformed frames"; }
replies=$(tshark -r "$tmp/cap.pcap" -Y 'icmp.type == 0 && ip.src == 192.0.2.2' 2>/dev/null | wc -l)
[ "$replies" -eq 120 ] || fail "expected 120 echo replies from portstack in the capture, saw $replies"
echo "PASS: 100 + 20 big pings answered, 6 sent and answered, $frames frames, 0 malformed"
