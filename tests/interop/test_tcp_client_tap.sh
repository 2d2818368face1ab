#!/usr/bin/env bash
# portstack as a TCP *client* of the Linux kernel, through a TAP device in
# a network namespace this test creates and removes (DEVELOPERS.md, network
# safety).  `portstack run --send` sends 100 MB of a known pattern to a
# Python server on the kernel side, which checks every byte and echoes it
# all back; portstack checks the echo byte for byte.  Then 20 MB again with
# 2% random loss each way on the kernel's side (nftables), once with the TAP
# device's offloads (64 KiB super-packets both ways, the default) and once
# with plain frames (--no-offload).
# Usage: test_tcp_client_tap.sh PATH/TO/portstack    (exit 77 = skipped: not root)
set -euo pipefail
bin=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
. "$here/netns.sh"
ns_need_root
ns_need_tools ip nft /usr/bin/python3

ns_setup pstest-tcpc
spid=""
ns_kill_at_exit spid
fail_details() { for f in "$tmp"/*.log; do echo "--- $f"; tail -30 "$f"; done; }
ns_tap 192.0.2.1/24

run_one() { # BYTES LABEL [portstack options]
  local bytes=$1 label=$2
  shift 2
  ip netns exec "$ns" /usr/bin/python3 "$here/bulk_server.py" 192.0.2.1 5001 "$bytes" >"$tmp/server-$label.log" 2>&1 &
  spid=$!
  for _ in $(seq 1 50); do grep -q listening "$tmp/server-$label.log" && break; sleep 0.1; done
  in_ns timeout 240 "$bin" run --tap pstap0 --address 192.0.2.2/24 --seed 9 --duration 200 \
    --send "192.0.2.1:5001:$bytes" "$@" >"$tmp/run-$label.log" 2>&1 || fail "portstack --send failed ($label)"
  wait "$spid" || fail "the kernel-side server saw a bad stream ($label)"
  spid=""
  grep -q "bulk: sent $bytes, received $bytes, pattern ok" "$tmp/run-$label.log" || fail "portstack's check ($label)"
  grep -q "received $bytes bytes, pattern ok" "$tmp/server-$label.log" || fail "the server's check ($label)"
  echo "$label: $(grep -o 'pattern ok.*' "$tmp/run-$label.log" | head -1)"
}

run_one $((100 * 1024 * 1024)) clean
# The offloads were used: super-segments went out, super-packets came in.
tso=$(awk '$1 == "tcp_tso_tx" {print $2}' "$tmp/run-clean.log")
[ "${tso:-0}" -gt 0 ] || fail "no TCP super-segment was sent through the TAP offload"

in_ns nft -f - <<'NFT'
table inet lossy {
  chain in  { type filter hook input priority 0; iifname "pstap0" numgen random mod 100 < 2 counter drop; }
  chain out { type filter hook output priority 0; oifname "pstap0" numgen random mod 100 < 2 counter drop; }
}
NFT
run_one $((20 * 1024 * 1024)) lossy
run_one $((20 * 1024 * 1024)) lossy-plain --no-offload
plain_tso=$(awk '$1 == "tcp_tso_tx" {print $2}' "$tmp/run-lossy-plain.log")
[ "${plain_tso:-0}" -eq 0 ] || fail "--no-offload still sent super-segments"
drops=$(in_ns nft list table inet lossy | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
[ "$drops" -gt 0 ] || fail "the loss rules dropped nothing"
retrans=$(awk '$1 == "tcp_retransmits" {print $2}' "$tmp/run-lossy.log")
echo "PASS: 100 MB each way byte-exact with portstack as the client ($tso super-segments); 20 MB through 2% loss with and without offloads ($drops frames dropped, ${retrans:-0} retransmissions)"
